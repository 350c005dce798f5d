"""Snakemake entry point of rule ``report``: the self-contained HTML report."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.report import ReportOptions, collect_results, run_report  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    cfg = dict(snakemake.params.report)
    inp = snakemake.input
    datasets = collect_results(
        snakemake.params.datasets,
        snakemake.params.fits,
        inp.participants,
        inp.posteriors,
        inp.summaries,
        inp.diagnostics,
        inp.traces,
        inp.ranks,
    )
    options = ReportOptions.from_config(cfg)
    run_report(cfg["title"], datasets, snakemake.output.html, options)
    log.info("wrote %s", snakemake.output.html)


run_step(snakemake, main)
