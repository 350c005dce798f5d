"""Paper figures drawn from the cached artifacts only (tables and posteriors, never a refit).

One module serves both the ``figures`` rules (files in every configured format under
``results/figures/{dataset}/``) and the HTML report (which embeds the same PNG files). Each
figure function takes tables already read and returns a Matplotlib ``Figure``, ``width``
inches wide and as tall as its content needs; the style is applied through an rc context,
so no global Matplotlib state is left behind. Group colours come from the colour-blind-safe
palette of Okabe & Ito (2008, "Color Universal Design", https://jfly.uni-koeln.de/color/).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cogfit.contrasts import COLUMNS as CONTRAST_COLUMNS
from cogfit.errors import DataError
from cogfit.figure_files import COMPARISON, OKABE_ITO, FigureStyle, PathLike, fit_stem
from cogfit.io import atomic_path
from cogfit.names import LEVELS, PPC_COLUMNS, recorded_parameters, site_name

LOG = logging.getLogger("cogfit.figures")
OBSERVED_COLOUR = "#000000"
BACKDROP_COLOUR = "0.6"
LABEL_CHARS = 20  # figure labels (participant ids, groups) are cut to this many characters
MAX_COLUMNS = 3  # parameter panels per row before they wrap
#: the statistics of ppc.parquet drawn by :func:`ppc_figure`
LEARNING_CURVE, STAY, PARTICIPANT = "learning_curve", "stay", "participant"
POOLED_BLOCK = "all"


# --------------------------------------------------------------------------- png


def compact_png(data: bytes) -> bytes:
    """A PNG re-encoded with an adaptive palette of at most 256 colours when that is
    smaller (line art with a few colours loses nothing visible and about three quarters
    of its bytes); a palette PNG comes back as it is. Transparency is flattened onto
    white, the pixel size and resolution are kept."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as image:
        if image.mode == "P":
            return data
        rgba = image.convert("RGBA")
        flat = PILImage.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        palette = flat.quantize(colors=256, method=PILImage.Quantize.MAXCOVERAGE)
        out = io.BytesIO()
        dpi = image.info.get("dpi")
        palette.save(out, format="png", optimize=True, **({"dpi": dpi} if dpi else {}))
    small = out.getvalue()
    return small if len(small) < len(data) else data


def figure_bytes(fig: Figure, fmt: str, style: FigureStyle) -> bytes:
    """One format of ``fig``: the canvas as it is (no tight bounding box), so a PNG is
    exactly ``width * dpi`` pixels wide (and :func:`compact_png`-ed); PDF and SVG stay
    vector, without creation dates (same input, same bytes)."""
    metadata = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}
    buf = io.BytesIO()
    with style.context():
        fig.savefig(buf, format=fmt, dpi=style.dpi, metadata=metadata.get(fmt))
    data = buf.getvalue()
    return compact_png(data) if fmt == "png" else data


def write_figure(fig: Figure, stem: PathLike, style: FigureStyle) -> list[Path]:
    """Write ``fig`` as ``{stem}.{format}`` for every format of the style, each
    atomically (:func:`figure_bytes`)."""
    written = []
    for fmt in style.file_formats:
        path = Path(f"{stem}.{fmt}")
        data = figure_bytes(fig, fmt, style)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        written.append(path)
    return written


# --------------------------------------------------------------------------- labels and colours


def natural_key(value: object) -> tuple:
    """Sort key that orders the digit runs of a name as numbers: "2" < "10", "s9" < "s10".

    Splitting on digit runs puts text at even and numbers at odd positions, so keys of any
    two names compare element by element without mixing types; the name itself breaks
    ties ("01" against "1")."""
    text = str(value)
    parts = re.split(r"([0-9]+)", text)
    return (*(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), text)


def natural_sorted(values: Sequence[object]) -> list[str]:
    """Distinct names as strings, in :func:`natural_key` order."""
    return sorted({str(v) for v in values}, key=natural_key)


def short_labels(names: Sequence[object], width: int = LABEL_CHARS) -> list[str]:
    """Figure labels: names of more than ``width`` characters cut to ``width`` plus "…".

    Where two names would read the same, the cut ones get their last characters, then (if
    those agree too) a short hash of the whole name, so every label stays distinct. Tables
    and artifacts keep the full names.
    """
    texts = [str(n) for n in names]
    labels = [t if len(t) <= width else f"{t[:width]}…" for t in texts]
    for suffix in (lambda t: t[-6:], lambda t: hashlib.sha1(t.encode()).hexdigest()[:6]):
        seen = Counter(labels)
        labels = [
            f"{t[:width]}…{suffix(t)}" if seen[label] > 1 and label != t else label
            for t, label in zip(texts, labels, strict=True)
        ]
    return labels


def plain(text: object) -> str:
    """Matplotlib reads ``$...$`` as maths; ids and names are never maths."""
    return str(text).replace("$", r"\$")


def group_colours(groups: Sequence[object]) -> dict[str, str]:
    """A palette colour per group, assigned in natural order (stable across figures)."""
    names = natural_sorted(groups)
    return {g: OKABE_ITO[i % (len(OKABE_ITO) - 1)] for i, g in enumerate(names)}


# --------------------------------------------------------------------------- reading artifacts


def read_table(path: PathLike, columns: Sequence[str], what: str) -> pd.DataFrame:
    """A Parquet artifact with the columns a figure or the report reads (one-line error)."""
    if not Path(path).is_file():
        raise DataError(f"{path}: {what} table not found")
    table = pd.read_parquet(path)
    missing = [c for c in columns if c not in table]
    if missing:
        raise DataError(f"{path}: {what} table lacks column(s) {missing}")
    return table


def posterior_attrs(posterior: PathLike) -> dict[str, Any]:
    """The posterior group's attributes (provenance, parameters), without the draws."""
    with xr.open_dataset(posterior, group="posterior", engine="h5netcdf") as post:
        return dict(post.attrs)


def participant_groups(posterior: PathLike) -> dict[str, str]:
    """Participant -> group as the fit saw them (the posterior's coordinates and
    ``group_index``), read without loading any draws."""
    with xr.open_dataset(posterior, group="posterior", engine="h5netcdf") as post:
        ids = [str(p) for p in post.coords["participant"].values]
        groups = [str(g) for g in post.coords["group"].values]
    with xr.open_dataset(posterior, group="constant_data", engine="h5netcdf") as const:
        index = np.asarray(const["group_index"].values, dtype=int)
    return {p: groups[i] for p, i in zip(ids, index, strict=True)}


def in_model_order(summary: pd.DataFrame, attrs: Mapping[str, Any]) -> pd.DataFrame:
    """Summary rows ordered by the model's parameter order (the posterior's recorded
    ``parameters``; a summary lists variables as the file stores them)."""
    order = {p: i for i, p in enumerate(recorded_parameters(attrs))}
    if not order:
        return summary
    key = summary["parameter"].map(lambda p: order.get(p, len(order)))
    return summary.iloc[np.argsort(key.to_numpy(), kind="stable")]


def _is_role(summary: pd.DataFrame, role: str) -> pd.Series:
    """Which summary rows are their parameter's ``role`` variable (:mod:`cogfit.names`)."""
    names = [site_name(str(p), role) for p in summary["parameter"]]
    return summary["variable"] == pd.Series(names, index=summary.index, dtype=object)


def group_estimates(summary: pd.DataFrame) -> pd.DataFrame:
    """Group means on the natural scale (``{p}_mu_natural``), with a ``label`` column."""
    rows = summary[_is_role(summary, "mu_natural")]
    return rows.assign(group=rows["group"].astype(str), label=rows["group"].astype(str))


def participant_estimates(summary: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Participant values on the natural scale (not the offsets), with each one's group."""
    rows = summary[_is_role(summary, "theta") & (summary["level"] == LEVELS["theta"])]
    ids = rows["participant"].astype(str)
    return rows.assign(participant=ids, label=ids, group=[groups.get(p, "?") for p in ids])


def parameters(summary: pd.DataFrame) -> list[str]:
    """The behavioural parameters of a summary, in its order."""
    return list(dict.fromkeys(group_estimates(summary)["parameter"]))


def participant_means(summary: pd.DataFrame) -> pd.DataFrame:
    """Posterior-mean participant estimates: a row per participant (natural order), a
    column per parameter."""
    rows = participant_estimates(summary, {})
    wide = rows.pivot(index="participant", columns="parameter", values="mean")
    order = sorted(wide.index, key=natural_key)
    return wide.loc[order, [p for p in parameters(summary) if p in wide.columns]]


# --------------------------------------------------------------------------- drawing helpers


def draw_intervals(
    ax: Any,
    frame: pd.DataFrame,
    colours: Mapping[str, str],
    backdrop: pd.DataFrame | None = None,
) -> None:
    """A row per label (top to bottom in ``frame`` order): dot = mean, line = HDI, colour =
    group; with ``backdrop`` each group's participant means as faint dots on its row."""
    y = np.arange(len(frame))[::-1]
    colour = [colours.get(g, BACKDROP_COLOUR) for g in frame["group"]]
    if backdrop is not None:
        rng = np.random.default_rng(0)  # fixed jitter: the same data draw the same picture
        for row_y, group in zip(y, frame["group"], strict=True):
            means = backdrop.loc[backdrop["group"] == group, "mean"].to_numpy(dtype=float)
            jitter = rng.uniform(-0.2, 0.2, len(means))
            ax.scatter(means, row_y + jitter, color=BACKDROP_COLOUR, s=5, alpha=0.6, zorder=1)
    ax.hlines(y, frame["hdi_low"], frame["hdi_high"], colors=colour, linewidth=1.8, zorder=2)
    ax.scatter(frame["mean"], y, color=colour, zorder=3, s=14)
    ax.set_yticks(y, [plain(t) for t in short_labels(frame["label"])])
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.grid(axis="x", alpha=0.3)


def _message(fig: Figure, text: str) -> Figure:
    ax = fig.subplots()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _hdi_label(table: pd.DataFrame) -> str:
    if "hdi_prob" not in table or table.empty:
        return "HDI"
    return f"{100 * float(table['hdi_prob'].iloc[0]):g}% HDI"


# --------------------------------------------------------------------------- 1. estimates


def natural_contrasts(contrasts: pd.DataFrame | None) -> pd.DataFrame:
    """The natural-scale rows of a contrasts table (empty without groups to contrast)."""
    if contrasts is None or contrasts.empty:
        return pd.DataFrame(columns=list(CONTRAST_COLUMNS))
    return contrasts[contrasts["scale"] == "natural"].reset_index(drop=True)


def _two_part_grid(
    fig: Figure, n_top: int, n_bottom: int, top: float, bottom: float
) -> tuple[list[Any], list[Any]]:
    """Axes for ``n_top`` panels on rows of height ``top`` and, starting on a new row,
    ``n_bottom`` panels on rows of height ``bottom``; unused cells removed."""
    ncols = min(max(n_top, n_bottom), MAX_COLUMNS)
    rows_top, rows_bottom = math.ceil(n_top / ncols), math.ceil(n_bottom / ncols)
    ratios = [top] * rows_top + [bottom] * rows_bottom
    axes = fig.subplots(len(ratios), ncols, squeeze=False, height_ratios=ratios)
    upper, lower = list(axes[:rows_top].ravel()), list(axes[rows_top:].ravel())
    for ax in upper[n_top:] + lower[n_bottom:]:
        ax.remove()
    return upper[:n_top], lower[:n_bottom]


def estimates_figure(
    summary: pd.DataFrame,
    groups: Mapping[str, str],
    contrasts: pd.DataFrame | None = None,
    style: FigureStyle | None = None,
) -> Figure:
    """Group means (natural scale) with their HDI and the participant means behind them,
    a panel per parameter; below, when the data have groups, the contrasts (difference of
    group means with its HDI, the ROPE shaded, P(difference > 0) written above)."""
    style = style or FigureStyle()
    with style.context():
        estimates = group_estimates(summary)
        params = parameters(summary)
        if not params:
            return _message(style.figure(4 * style.line), "no group-level estimates")
        order = {g: i for i, g in enumerate(natural_sorted(estimates["group"]))}
        colours = group_colours(list(order))
        people = participant_estimates(summary, groups)
        diffs = natural_contrasts(contrasts)
        diff_params = [p for p in params if (diffs["parameter"] == p).any()]
        n_pairs = max([int((diffs["parameter"] == p).sum()) for p in diff_params] or [0])
        top, bottom = (1.6 * len(order) + 4) * style.line, (2.2 * n_pairs + 4) * style.line
        ncols = min(len(params), MAX_COLUMNS)
        height = top * math.ceil(len(params) / ncols)
        height += bottom * math.ceil(len(diff_params) / ncols)
        fig = style.figure(height)
        upper, lower = _two_part_grid(fig, len(params), len(diff_params), top, bottom)
        for ax, param in zip(upper, params, strict=True):
            frame = estimates[estimates["parameter"] == param]
            frame = frame.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)
            draw_intervals(ax, frame, colours, people[people["parameter"] == param])
            ax.set_title(plain(param))
        for ax, param in zip(lower, diff_params, strict=True):
            _draw_contrast(ax, diffs[diffs["parameter"] == param].reset_index(drop=True))
            ax.set_title(plain(f"Δ {param}"))
        upper[0].set_xlabel(f"group mean, {_hdi_label(estimates)}")
        if lower:
            lower[0].set_xlabel(f"difference, {_hdi_label(diffs)}")
        return fig


def _draw_contrast(ax: Any, rows: pd.DataFrame) -> None:
    y = np.arange(len(rows))[::-1]
    labels = [f"{a} − {b}" for a, b in zip(rows["group_a"], rows["group_b"], strict=True)]
    for row_y, row in zip(y, rows.itertuples(), strict=True):
        if not (math.isnan(row.rope_low) or math.isnan(row.rope_high)):
            ax.fill_betweenx(
                [row_y - 0.35, row_y + 0.35], row.rope_low, row.rope_high, color="0.88", lw=0
            )
        ax.text(
            row.mean,
            row_y + 0.15,
            f"P(>0) = {row.p_greater:.2f}",
            ha="center",
            va="bottom",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.8},
            zorder=4,
        )
    ax.axvline(0, color="0.4", linewidth=0.8, linestyle="--", zorder=0)
    ax.hlines(y, rows["hdi_low"], rows["hdi_high"], colors=OBSERVED_COLOUR, linewidth=1.8)
    ax.scatter(rows["mean"], y, color=OBSERVED_COLOUR, s=14, zorder=3)
    ax.set_yticks(y, [plain(t) for t in short_labels(labels, 2 * LABEL_CHARS)])
    ax.set_ylim(-0.7, len(rows) - 0.1)
    ax.grid(axis="x", alpha=0.3)


def participant_figure(
    rows: pd.DataFrame, params: Sequence[str], style: FigureStyle | None = None
) -> Figure:
    """Participant estimates (rows of :func:`participant_estimates`) sorted by mean, with
    their HDI, a panel per parameter, colour = group (legend below)."""
    style = style or FigureStyle()
    with style.context():
        colours = group_colours(rows["group"])
        n_rows = max(int((rows["parameter"] == p).sum()) for p in params)
        panel_rows = math.ceil(len(params) / min(len(params), MAX_COLUMNS))
        fig = style.figure((1.3 * n_rows + 6) * style.line * panel_rows)
        axes, _ = _two_part_grid(fig, len(params), 0, 1.0, 1.0)
        for ax, param in zip(axes, params, strict=True):
            frame = rows[rows["parameter"] == param].sort_values("mean").reset_index(drop=True)
            draw_intervals(ax, frame, colours)
            ax.set_title(plain(param))
        handles = [
            Line2D([], [], color=c, marker="o", label=plain(n))
            for n, c in zip(short_labels(list(colours)), colours.values(), strict=True)
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
        return fig


# --------------------------------------------------------------------------- 2. comparison

COMPARISON_COLUMNS = ("model", "elpd_diff", "diff_se", "bms_xp", "bms_pxp")


def comparison_figure(table: pd.DataFrame, style: FigureStyle | None = None) -> Figure:
    """Left: each model's elpd relative to the best, ``-elpd_diff`` (the table holds
    ArviZ's ``elpd_best - elpd`` >= 0), with the SE of the difference: best on top, at 0,
    worse models to the left. Right: the exceedance probabilities of random-effects BMS,
    protected (bars) and not (dots) (Rigoux et al. 2014, NeuroImage 84:971-985)."""
    style = style or FigureStyle()
    with style.context():
        if table.empty:
            return _message(style.figure(4 * style.line), "no model was compared")
        fig = style.figure((1.8 * len(table) + 5) * style.line)
        left, right = fig.subplots(1, 2, sharey=True)
        y = np.arange(len(table))[::-1]
        se = table["diff_se"].to_numpy(dtype=float)
        relative = -table["elpd_diff"].to_numpy(dtype=float)
        left.errorbar(relative, y, xerr=np.nan_to_num(se), fmt="o", color=OKABE_ITO[0])
        left.axvline(0, color="0.4", linewidth=0.8, linestyle="--", zorder=0)
        left.set_yticks(y, [plain(m) for m in short_labels(table["model"])])
        left.set_xlabel("elpd relative to the best model (± SE)")
        left.grid(axis="x", alpha=0.3)
        right.barh(y, table["bms_pxp"].fillna(0), height=0.5, color=OKABE_ITO[1], label="protected")
        right.scatter(table["bms_xp"], y, color=OBSERVED_COLOUR, s=14, zorder=3, label="plain")
        right.set_xlim(0, 1.03)
        right.set_xlabel("exceedance probability (BMS)")
        fig.legend(*right.get_legend_handles_labels(), loc="outside lower right", ncols=2)
        right.grid(axis="x", alpha=0.3)
        left.set_ylim(-0.7, len(table) - 0.3)
        return fig


# --------------------------------------------------------------------------- 3. ppc


def group_misses(ppc: pd.DataFrame) -> tuple[int, int]:
    """(observed values outside their predicted interval, values checked) over the group
    rows of a PPC table (learning-curve bins per block, stay/switch): a model that
    reproduces the data misses about ``1 - interval`` of them by chance."""
    per_block = (ppc["statistic"] == LEARNING_CURVE) & (ppc["block"] != POOLED_BLOCK)
    blocks = set(ppc.loc[ppc["statistic"] == LEARNING_CURVE, "block"])
    if blocks == {POOLED_BLOCK}:  # no blocks: the curves are the pooled rows
        per_block = ppc["statistic"] == LEARNING_CURVE
    rows = ppc[(per_block | (ppc["statistic"] == STAY)) & (ppc["n"] > 0)]
    return int(rows["flagged"].astype(bool).sum()), len(rows)


def measure_label(ppc: pd.DataFrame) -> str:
    """What the learning curves and participants' proportions count: ``best`` (a
    bandit's best choices), else the table's measure, e.g. ``pressed = 1``."""
    rows = ppc.loc[ppc["statistic"] == PARTICIPANT, "condition"]
    measure = str(rows.iloc[0]) if len(rows) else ""
    return measure or "best"


def _blocks(rows: pd.DataFrame) -> list[str]:
    """Blocks in natural order, the pooled one ("all") last."""
    names = natural_sorted(rows["block"])
    return [b for b in names if b != POOLED_BLOCK] + [b for b in names if b == POOLED_BLOCK]


def ppc_figure(ppc: pd.DataFrame, style: FigureStyle | None = None) -> Figure:
    """Posterior predictive checks: learning curves (observed proportion of best choices,
    or of 1 responses (:func:`measure_label`), per bin of trial position against the
    predicted mean and interval band; a row per
    block, then the blocks pooled, a column per group) and, in the last row, stay
    probabilities after a better and a worse outcome (observed against the predicted mean
    with its interval) per group. Observed values outside the predicted interval (the
    table's ``flagged``) are ringed."""
    style = style or FigureStyle()
    with style.context():
        curves = ppc[ppc["statistic"] == LEARNING_CURVE]
        stays = ppc[ppc["statistic"] == STAY]
        groups = natural_sorted(pd.concat([curves["group"], stays["group"]]))
        if not groups:
            return _message(style.figure(4 * style.line), "no posterior predictive statistics")
        colours = group_colours(groups)
        label = measure_label(ppc)
        measure = "best option" if label == "best" else label
        blocks = _blocks(curves)
        xlabel = "trial in block" if len(blocks) > 1 else "trial"
        n_rows = len(blocks) + (not stays.empty)
        fig = style.figure(n_rows * 11 * style.line + 3 * style.line)
        axes = fig.subplots(n_rows, len(groups), squeeze=False, sharey="row")
        for i, block in enumerate(blocks):
            for j, group in enumerate(groups):
                rows = curves[(curves["block"] == block) & (curves["group"] == group)]
                _draw_curve(axes[i, j], rows.sort_values("bin"), colours[group], xlabel)
                axes[i, j].set_title(plain(_curve_title(group, block, len(blocks))))
            axes[i, 0].set_ylabel(plain(f"P({measure})"))
        if not stays.empty:
            for j, group in enumerate(groups):
                _draw_stay(axes[-1, j], stays[stays["group"] == group], colours[group])
                axes[-1, j].set_title(plain(f"{group}: stay"))
            axes[-1, 0].set_ylabel("P(stay)")
        fig.legend(handles=_ppc_handles(ppc), loc="outside lower center", ncols=4)
        return fig


def _curve_title(group: str, block: str, n_blocks: int) -> str:
    if block != POOLED_BLOCK:
        return f"{group}, block {block}"
    return f"{group}, all blocks" if n_blocks > 1 else group


def _ring_flagged(ax: Any, x: np.ndarray, rows: pd.DataFrame) -> None:
    """Open rings around observed values outside their predicted interval."""
    flagged = rows["flagged"].to_numpy(dtype=bool)
    if flagged.any():
        y = rows["observed"].to_numpy(dtype=float)
        ax.scatter(x[flagged], y[flagged], s=60, facecolors="none", edgecolors=OBSERVED_COLOUR)


def _ppc_handles(ppc: pd.DataFrame) -> list[Any]:
    interval = ppc["interval"].dropna()
    share = f"{100 * float(interval.iloc[0]):g}% " if len(interval) else ""
    return [
        Line2D([], [], color=OBSERVED_COLOUR, marker="o", markersize=3, label="observed"),
        Line2D([], [], color="0.3", label="predicted mean"),
        Line2D([], [], color="0.3", alpha=0.3, linewidth=6, label=f"predicted {share}interval"),
        Line2D(
            [],
            [],
            color=OBSERVED_COLOUR,
            marker="o",
            markersize=7,
            markerfacecolor="none",
            linestyle="",
            label="outside the interval",
        ),
    ]


def _draw_curve(ax: Any, rows: pd.DataFrame, colour: str, xlabel: str) -> None:
    x = (rows["trial_low"].to_numpy(dtype=float) + rows["trial_high"].to_numpy(dtype=float)) / 2
    ax.fill_between(x, rows["predicted_low"], rows["predicted_high"], color=colour, alpha=0.3, lw=0)
    ax.plot(x, rows["predicted_mean"], color=colour)
    ax.plot(x, rows["observed"], color=OBSERVED_COLOUR, marker="o", markersize=3, linewidth=0.8)
    _ring_flagged(ax, x, rows)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)


def _draw_stay(ax: Any, rows: pd.DataFrame, colour: str) -> None:
    """Observed (black) and predicted (colour, with interval) P(stay) per condition."""
    blocks = _blocks(rows)
    keys = [(b, c) for b in blocks for c in natural_sorted(rows["condition"])]
    found = [(b, c) for b, c in keys if ((rows["block"] == b) & (rows["condition"] == c)).any()]
    x = np.arange(len(found))
    for xi, (block, condition) in zip(x, found, strict=True):
        row = rows[(rows["block"] == block) & (rows["condition"] == condition)].iloc[0]
        mean = float(row["predicted_mean"])
        below, above = mean - float(row["predicted_low"]), float(row["predicted_high"]) - mean
        ax.errorbar(xi + 0.1, mean, yerr=[[below], [above]], fmt="s", color=colour, markersize=4)
        ax.scatter(xi - 0.1, row["observed"], color=OBSERVED_COLOUR, s=12, zorder=3)
        _ring_flagged(ax, np.array([xi - 0.1]), rows.loc[[row.name]])
    one_block = len({b for b, _ in found}) <= 1
    labels = [c if one_block else f"{b}: {c}" for b, c in found]
    ax.set_xticks(x, [plain(f"after {t}") for t in labels])
    ax.set_xlim(-0.6, len(found) - 0.4)
    ax.set_ylim(0, 1)


# --------------------------------------------------------------------------- 4. correlations


def correlation_figure(
    summary: pd.DataFrame, groups: Mapping[str, str], style: FigureStyle | None = None
) -> Figure:
    """Pairwise scatter of the posterior-mean participant estimates (lower triangle, colour
    = group) with the Pearson correlation across all participants in each panel. Means
    shrink towards their group, so these correlations describe the estimates, not the
    parameters themselves."""
    style = style or FigureStyle()
    with style.context():
        wide = participant_means(summary)
        params = list(wide.columns)
        if len(params) < 2:
            return _message(style.figure(4 * style.line), "fewer than two parameters")
        n = len(params) - 1
        side = min(style.width / n, 16 * style.line)
        fig = style.figure(side * n + 3 * style.line)
        axes = fig.subplots(n, n, squeeze=False)
        colours = group_colours(groups.values()) if groups else {}
        who = [groups.get(str(p), "?") for p in wide.index]
        dots = [colours.get(g, BACKDROP_COLOUR) for g in who]
        for i, j in np.ndindex(n, n):
            ax, x_param, y_param = axes[i, j], params[j], params[i + 1]
            if j > i:
                ax.remove()
                continue
            x, y = wide[x_param].to_numpy(dtype=float), wide[y_param].to_numpy(dtype=float)
            ax.scatter(x, y, c=dots, s=8, alpha=0.8)
            r = np.corrcoef(x, y)[0, 1] if len(x) > 1 else math.nan
            ax.text(0.03, 0.97, f"r = {r:.2f}", transform=ax.transAxes, ha="left", va="top")
            ax.set_xlabel(plain(x_param) if i == n - 1 else "")
            ax.set_ylabel(plain(y_param) if j == 0 else "")
        handles = [
            Line2D([], [], color=c, marker="o", linestyle="", label=plain(g))
            for g, c in zip(short_labels(list(colours)), colours.values(), strict=True)
        ]
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
        return fig


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class FitArtifacts:
    """What the figures of one fit are drawn from (``ppc`` None: no PPC figure)."""

    model: str
    posterior: PathLike
    summary: PathLike
    contrasts: PathLike | None = None
    ppc: PathLike | None = None


def fit_figures(fit: FitArtifacts, style: FigureStyle) -> dict[str, Figure]:
    """Kind -> figure of one fit, each kind of :data:`FIT_FIGURES` whose input is there."""
    summary = in_model_order(pd.read_parquet(fit.summary), posterior_attrs(fit.posterior))
    groups = participant_groups(fit.posterior)
    contrasts = None
    if fit.contrasts is not None:
        contrasts = read_table(fit.contrasts, ("parameter", "scale", "group_a"), "contrasts")
    figures = {
        "estimates": estimates_figure(summary, groups, contrasts, style),
        "correlations": correlation_figure(summary, groups, style),
    }
    if fit.ppc is not None:
        figures["ppc"] = ppc_figure(read_table(fit.ppc, PPC_COLUMNS, "ppc"), style)
    return figures


def run_figures(
    dataset: str,
    out_dir: PathLike,
    style: FigureStyle,
    fits: Sequence[FitArtifacts] = (),
    comparison: PathLike | None = None,
    log: logging.Logger = LOG,
) -> list[Path]:
    """Draw the figures of one dataset's ``fits`` and its model ``comparison`` table into
    ``out_dir`` under the stems of :func:`fit_stem` and :data:`COMPARISON`."""
    written: list[Path] = []
    for fit in fits:
        for kind, fig in fit_figures(fit, style).items():
            written += write_figure(fig, Path(out_dir) / fit_stem(fit.model, kind), style)
    if comparison is not None:
        table = read_table(comparison, COMPARISON_COLUMNS, "model comparison")
        written += write_figure(comparison_figure(table, style), Path(out_dir) / COMPARISON, style)
    log.info("dataset %s: wrote %d figure file(s) to %s", dataset, len(written), out_dir)
    return written
