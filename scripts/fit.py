"""Snakemake entry point of rule ``fit``: one hierarchical NUTS fit of one model."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.fit import SamplerSettings  # noqa: E402
from cogfit.runtime import configure_xla  # noqa: E402

settings = SamplerSettings.from_config(snakemake.params.sampler)
# One virtual CPU device per chain so chains run in parallel; must precede JAX start-up.
configure_xla(settings.chains)

from cogfit.fit import run_fit  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    run_fit(
        snakemake.input.trials,
        snakemake.output.posterior,
        dataset=snakemake.wildcards.dataset,
        model_name=snakemake.params.model,
        n_options=snakemake.params.n_options,
        settings=settings,
        priors=snakemake.params.priors,
        block_reset=snakemake.params.block_reset,
        fold=snakemake.params.get("fold"),
        log=log,
    )


run_step(snakemake, main)
