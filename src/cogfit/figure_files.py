"""The paper figures' names, files and style settings: plain Python, no Matplotlib until
a figure is drawn, so the Snakefile plans the figure rules where it parses the workflow
(a driver environment with only Snakemake). :mod:`cogfit.figures` draws them."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogfit.settings import settings_from_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike[str]
#: the figures of each fit and of each dataset: kind -> file stem (one place for the names)
FIT_FIGURES = ("estimates", "ppc", "correlations")
COMPARISON = "comparison"
#: Okabe & Ito's eight colours, black last (it is the observed data's colour here)
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)


@dataclass(frozen=True)
class FigureStyle:
    """The config's ``figures`` section: file formats, size and fonts of every figure.

    The defaults are the schema's. PNG is always written as well (:attr:`file_formats`),
    because the report embeds it."""

    formats: tuple[str, ...] = ("pdf", "png")
    width: float = 6.5  # inches; the height follows from each figure's content
    dpi: int = 300
    font_size: float = 8.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", tuple(self.formats))

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> FigureStyle:
        """From the config's ``figures`` mapping, checked against its schema."""
        return settings_from_section(cls, "figures", cfg)

    @property
    def file_formats(self) -> tuple[str, ...]:
        """The configured formats, plus PNG (for the report) when it is not among them."""
        return self.formats if "png" in self.formats else (*self.formats, "png")

    @property
    def line(self) -> float:
        """Height of one line of text, in inches: the unit figure heights are counted in."""
        return 1.5 * self.font_size / 72

    def rc(self) -> dict[str, Any]:
        """Matplotlib rc settings of this style (fonts embedded as text, not outlines)."""
        from cycler import cycler

        small = max(4.0, self.font_size - 1)
        return {
            "font.size": self.font_size,
            "axes.titlesize": self.font_size,
            "axes.labelsize": self.font_size,
            "xtick.labelsize": small,
            "ytick.labelsize": small,
            "legend.fontsize": small,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
            "figure.dpi": self.dpi,
            "savefig.dpi": self.dpi,
            "pdf.fonttype": 42,
            "svg.fonttype": "none",
            "svg.hashsalt": "cogfit",  # the same figure writes the same SVG
        }

    @contextmanager
    def context(self) -> Iterator[None]:
        """Apply the style while drawing and saving; the previous rc is restored after."""
        import matplotlib

        with matplotlib.rc_context(self.rc()):
            yield

    def figure(self, height: float) -> Figure:
        """An empty figure of the style's width and ``height`` inches (constrained layout)."""
        from matplotlib.figure import Figure

        return Figure(figsize=(self.width, max(height, 1.0)), dpi=self.dpi, layout="constrained")


def fit_stem(model: str, kind: str) -> str:
    """File stem of one fit's figure: ``{model}_{kind}`` for a kind of :data:`FIT_FIGURES`."""
    if kind not in FIT_FIGURES:
        raise KeyError(f"no fit figure {kind!r}; kinds: {list(FIT_FIGURES)}")
    return f"{model}_{kind}"


def figures_folder(results: PathLike, dataset: str) -> str:
    """Where the figures of ``dataset`` go: ``{results}/figures/{dataset}``."""
    return f"{results}/figures/{dataset}"


def figure_files(folder: PathLike, stem: str, formats: Sequence[str]) -> list[str]:
    """The files of one figure, one per format."""
    return [f"{folder}/{stem}.{fmt}" for fmt in formats]


def figure_file(results: PathLike, dataset: str, stem: str, fmt: str) -> str:
    """One file of one figure of ``dataset``."""
    return f"{figures_folder(results, dataset)}/{stem}.{fmt}"


def dataset_figure_files(
    results: PathLike, dataset: str, models: Sequence[str], formats: Sequence[str]
) -> list[str]:
    """Every figure file of one dataset: its comparison and each model's fit figures."""
    folder = figures_folder(results, dataset)
    stems = [COMPARISON] + [fit_stem(m, kind) for m in models for kind in FIT_FIGURES]
    return [f for stem in stems for f in figure_files(folder, stem, formats)]
