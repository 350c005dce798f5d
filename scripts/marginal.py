"""Snakemake entry point of rules ``marginal`` and ``fold_marginal``: each participant's
likelihood integrated over their offsets."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.marginal import CompareSettings, run_marginal  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    run_marginal(
        snakemake.input.posterior,
        snakemake.output.marginal,
        CompareSettings.from_config(snakemake.params.compare),
        seed=snakemake.params.seed,
        trials_path=snakemake.input.get("trials"),
        proposal_path=snakemake.input.get("proposal"),
        log=log,
    )


run_step(snakemake, main)
