"""Snakemake entry point of rule ``clean``: validate and clean one raw dataset."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.clean import CleaningSpec, run_clean  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    spec = CleaningSpec.from_config(
        snakemake.wildcards.dataset,
        snakemake.params.dataset,
        precision=snakemake.params.precision,  # outcomes must be finite in the fit's float type
    )
    run_clean(spec, snakemake.output.trials, snakemake.output.participants, log=log)


run_step(snakemake, main)
