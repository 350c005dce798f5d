"""Snakemake entry point of rule ``compare``: the models fitted to one dataset compared."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.comparison import run_compare  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def marginal_paths():  # noqa: ANN201
    """Model -> its marginal file(s): the input is named by model (see compare_inputs)."""
    named = {}
    for model in snakemake.input.keys():  # noqa: SIM118 (a Namedlist iterates over paths)
        paths = snakemake.input[model]
        named[model] = [paths] if isinstance(paths, str) else list(paths)
    return named


def main(log):  # noqa: ANN001, ANN201
    run_compare(
        marginal_paths(),
        snakemake.output.table,
        snakemake.output.participants,
        log=log,
    )


run_step(snakemake, main)
