"""Snakemake entry point of rule ``diagnose``: summaries, convergence checks, plots."""

from cogfit.diagnostics import Thresholds, run_diagnose
from cogfit.runner import run_step

snakemake = globals()["snakemake"]


def main(log):  # noqa: ANN001, ANN201
    cfg = dict(snakemake.params.thresholds)
    run_diagnose(
        snakemake.input.posterior,
        snakemake.output.summary,
        snakemake.output.diagnostics,
        snakemake.output.trace,
        snakemake.output.rank,
        thresholds=Thresholds.from_config(cfg),
        hdi_prob=cfg["hdi_prob"],
        on_fail=cfg["on_fail"],
        log=log,
    )


run_step(snakemake, main)
