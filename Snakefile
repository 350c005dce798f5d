"""cogfit: raw trials -> cleaned data -> hierarchical NUTS fits -> diagnostics -> report."""

from snakemake.utils import min_version

min_version("9.0")


# The example config, unless the command line names config files (--configfile): those
# replace it instead of merging into it; --config key=value alone still applies on top.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/diagnostics.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_diagnostics(),
        all_analyses(),
        f"{RESULTS}/report/index.html",
    default_target: True
