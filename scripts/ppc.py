"""Snakemake entry point of rule ``ppc``: posterior predictive checks of one fit."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.ppc import PPCSettings, run_ppc  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    run_ppc(
        snakemake.input.posterior,
        snakemake.input.trials,
        snakemake.output.ppc,
        PPCSettings.from_config(snakemake.params.ppc),
        seed=snakemake.params.seed,
        log=log,
    )


run_step(snakemake, main)
