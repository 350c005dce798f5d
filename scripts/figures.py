"""Snakemake entry point of rules ``figures_fit`` and ``figures_comparison``: paper figures
drawn from the artifacts of one fit, or from one dataset's model comparison."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]
# Import cogfit from this workflow's own src/ when present (also under --sdm conda).
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parent / "src"))

from cogfit.figure_files import FigureStyle  # noqa: E402
from cogfit.figures import FitArtifacts, run_figures  # noqa: E402
from cogfit.runner import run_step  # noqa: E402


def main(log):  # noqa: ANN001, ANN201
    inp = snakemake.input
    fits = []
    if "posterior" in inp.keys():  # noqa: SIM118 (a Namedlist iterates over paths)
        model = snakemake.wildcards.model
        fits.append(FitArtifacts(model, inp.posterior, inp.summary, inp.contrasts, inp.ppc))
    comparison = inp.comparison if "comparison" in inp.keys() else None  # noqa: SIM118
    run_figures(
        snakemake.wildcards.dataset,
        Path(snakemake.output[0]).parent,
        FigureStyle.from_config(snakemake.params.figures),
        fits=fits,
        comparison=comparison,
        log=log,
    )


run_step(snakemake, main)
