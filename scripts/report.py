"""Snakemake entry point of rule ``report``: the self-contained HTML report."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.report import (  # noqa: E402
    DATASET_ARTIFACTS,
    MODEL_ARTIFACTS,
    ReportOptions,
    collect_results,
    run_report,
)
from cogfit.runner import run_step  # noqa: E402


def named(keys):  # noqa: ANN001, ANN201
    """The rule's inputs of these names, each a list of paths."""
    inp = snakemake.input
    return {k: list(inp[k]) for k in keys if k in inp.keys()}  # noqa: SIM118


def main(log):  # noqa: ANN001, ANN201
    cfg = dict(snakemake.params.report)
    datasets = collect_results(
        snakemake.params.datasets,
        snakemake.params.fits,
        list(snakemake.input.participants),
        named(MODEL_ARTIFACTS),
        named(DATASET_ARTIFACTS),
    )
    options = ReportOptions.from_config(cfg)
    run_report(cfg["title"], datasets, snakemake.output.html, options)
    log.info("wrote %s", snakemake.output.html)


run_step(snakemake, main)
