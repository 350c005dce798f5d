"""Snakemake entry point of rule ``regressors``: trial-wise regressors of one fit."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.regressors import RegressorSettings, run_regressors  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    run_regressors(
        snakemake.input.posterior,
        snakemake.input.trials,
        snakemake.output.regressors,
        RegressorSettings.from_config(snakemake.params.regressors),
        log=log,
    )


run_step(snakemake, main)
