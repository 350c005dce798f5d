"""Snakemake entry point of rule ``clean``: validate and clean one raw dataset."""

from cogfit.clean import CleaningSpec, run_clean
from cogfit.runner import run_step

snakemake = globals()["snakemake"]


def main(log):  # noqa: ANN001, ANN201
    spec = CleaningSpec.from_config(snakemake.wildcards.dataset, snakemake.params.dataset)
    run_clean(spec, snakemake.output.trials, snakemake.output.participants, log=log)


run_step(snakemake, main)
