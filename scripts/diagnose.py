"""Snakemake entry point of rule ``diagnose``: summaries, convergence checks, plots."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.diagnostics import Thresholds, run_diagnose  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    cfg = dict(snakemake.params.thresholds)
    hdi_prob, on_fail = cfg.pop("hdi_prob"), cfg.pop("on_fail")
    run_diagnose(
        snakemake.input.posterior,
        snakemake.output.summary,
        snakemake.output.diagnostics,
        snakemake.output.trace,
        snakemake.output.rank,
        thresholds=Thresholds.from_config(cfg),
        hdi_prob=hdi_prob,
        on_fail=on_fail,
        log=log,
    )


run_step(snakemake, main)
