"""Snakemake entry point of rule ``contrasts``: differences of group means of one fit."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.contrasts import run_contrasts  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    run_contrasts(
        snakemake.input.posterior,
        snakemake.output.contrasts,
        hdi_prob=snakemake.params.hdi_prob,
        pairs=snakemake.params.pairs,
        rope=snakemake.params.rope,
        log=log,
    )


run_step(snakemake, main)
