"""A single self-contained HTML report: one file to e-mail, archive or open offline.

Everything the reader sees is embedded (inline CSS, figures as base64 PNG data URIs), and
every string that came from data or config is HTML-escaped. The report only *reads* the
artifacts of earlier steps (``participants.parquet``, ``posterior.nc``, ``summary.parquet``,
``diagnostics.parquet``, trace/rank PNGs) and recomputes nothing: its intervals are
those of the summaries, labelled with the HDI probability they were made with.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import numbers
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cogfit import __version__
from cogfit.errors import CogfitError, ConfigError
from cogfit.io import write_text
from cogfit.names import LEVELS, site_name
from cogfit.schema import subschema
from cogfit.settings import settings_from_section

PathLike = str | os.PathLike[str]
RHAT = "{:.3f}"  # R-hat thresholds sit at the second decimal: show the third
ESS = "{:,.0f}"
#: How each check's value is shown; the rest get three significant digits.
CHECK_FORMATS = {"r_hat": "{:.4f}", "ess_bulk": ESS, "ess_tail": ESS, "overall": "{:.0f}"}
PARTICIPANT_COLUMNS = ("participant", "group", "n_trials", "n_missed", "missed_fraction")
LABEL_CHARS = 20  # figure labels (participant ids, groups) are cut to this many characters
LONG_CELL = 40  # table cells of more characters may wrap anywhere (ids without spaces)
PROVENANCE = {
    "cogfit": "cogfit_version",
    "jax": "jax_version",
    "numpyro": "numpyro_version",
    "device": "device",
    "likelihood scan": "scan",  # the one that ran (sampler.scan auto resolved)
    "seed": "seed",
    "data hash": "data_hash",
    "model hash": "model_hash",
}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ModelResults:
    """Where one fitted model's artifacts live."""

    model: str
    posterior: PathLike
    summary: PathLike
    diagnostics: PathLike
    trace_png: PathLike
    rank_png: PathLike

    def paths(self) -> tuple[PathLike, ...]:
        return (self.posterior, self.summary, self.diagnostics, self.trace_png, self.rank_png)


@dataclass(frozen=True)
class DatasetResults:
    """One dataset: its cleaning table and every model fitted to it."""

    dataset: str
    participants: PathLike
    models: tuple[ModelResults, ...] = ()

    @classmethod
    def from_paths(
        cls,
        dataset: str,
        participants: PathLike,
        models: Sequence[str],
        posteriors: Sequence[PathLike],
        summaries: Sequence[PathLike],
        diagnostics: Sequence[PathLike],
        traces: Sequence[PathLike],
        ranks: Sequence[PathLike],
    ) -> DatasetResults:
        """From parallel lists, as a Snakemake rule's ``expand()``-ed inputs come."""
        columns = (posteriors, summaries, diagnostics, traces, ranks)
        if any(len(c) != len(models) for c in columns):
            raise ConfigError(
                f"dataset {dataset!r}: {len(models)} model(s) but artifact lists of lengths "
                f"{[len(c) for c in columns]}; every model needs one of each"
            )
        fits = tuple(ModelResults(m, *paths) for m, *paths in zip(models, *columns, strict=True))
        return cls(dataset, participants, fits)


def collect_results(
    datasets: Sequence[str],
    fits: Sequence[Sequence[str]],
    participants: Sequence[PathLike],
    posteriors: Sequence[PathLike],
    summaries: Sequence[PathLike],
    diagnostics: Sequence[PathLike],
    traces: Sequence[PathLike],
    ranks: Sequence[PathLike],
) -> list[DatasetResults]:
    """Group the report rule's flat inputs by dataset.

    ``participants`` runs parallel to ``datasets``; the artifact lists run parallel to
    ``fits``, the (dataset, model) pairs, as the Snakemake rule lists them.
    """
    artifacts = (posteriors, summaries, diagnostics, traces, ranks)
    if len(participants) != len(datasets) or any(len(c) != len(fits) for c in artifacts):
        raise ConfigError(
            f"report inputs do not line up: {len(datasets)} dataset(s), {len(participants)} "
            f"participant table(s), {len(fits)} fit(s), artifact lists of lengths "
            f"{[len(c) for c in artifacts]}"
        )
    results = []
    for name, table in zip(datasets, participants, strict=True):
        index = [i for i, (d, _) in enumerate(fits) if d == name]
        models = [fits[i][1] for i in index]
        lists = [[column[i] for i in index] for column in artifacts]
        results.append(DatasetResults.from_paths(name, table, models, *lists))
    return results


@dataclass(frozen=True)
class ReportOptions:
    """How to present the results: the config's ``report`` section but ``title`` (an
    argument of :func:`build_report`), and ``generated_at``, which is no config key; none
    of these change a number that was computed. The defaults are the schema's (a test
    keeps them equal)."""

    dpi: int = 110  # of the report's own figures; trace/rank PNGs are embedded as they are
    participant_table: bool = True  # the per-participant table and figure of every model
    max_participants: int = 500
    generated_at: str | None = None  # None: now (UTC); fix it for byte-identical reports

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ReportOptions:
        """From the config's ``report`` mapping, checked against its schema (limits,
        unknown keys); missing keys take the schema's defaults."""
        return settings_from_section(cls, "report", cfg)


@dataclass(frozen=True)
class _Model:
    """One model's artifacts, loaded."""

    name: str
    attrs: dict[str, Any]
    summary: pd.DataFrame
    checks: pd.DataFrame
    trace_png: bytes
    rank_png: bytes

    @property
    def passed(self) -> bool:
        overall = self.checks[self.checks["check"] == "overall"]
        rows = overall if len(overall) else self.checks
        return bool(rows["passed"].astype(bool).all())

    @property
    def hdi_prob(self) -> float | None:
        """The HDI probability the summary was made with (None for a summary without it)."""
        if "hdi_prob" not in self.summary or self.summary.empty:
            return None
        return float(self.summary["hdi_prob"].iloc[0])


@dataclass(frozen=True)
class _Dataset:
    name: str
    participants: pd.DataFrame
    models: tuple[_Model, ...]


def _require_files(datasets: Sequence[DatasetResults]) -> None:
    """Name every missing input at once rather than failing on the first deep in a reader."""
    paths = [d.participants for d in datasets] + [
        p for d in datasets for m in d.models for p in m.paths()
    ]
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise CogfitError(f"cannot build the report; missing input file(s): {missing}")


def _posterior_attrs(path: PathLike) -> dict[str, Any]:
    """Provenance only: read the posterior group's attributes, not the draws."""
    with xr.open_dataset(path, group="posterior", engine="h5netcdf") as ds:
        return dict(ds.attrs)


def _load_model(fit: ModelResults) -> _Model:
    return _Model(
        name=fit.model,
        attrs=_posterior_attrs(fit.posterior),
        summary=pd.read_parquet(fit.summary),
        checks=pd.read_parquet(fit.diagnostics),
        trace_png=Path(fit.trace_png).read_bytes(),
        rank_png=Path(fit.rank_png).read_bytes(),
    )


def _load_participants(path: PathLike, dataset: str) -> pd.DataFrame:
    table = pd.read_parquet(path)
    missing = [c for c in (*PARTICIPANT_COLUMNS, "excluded", "reason") if c not in table]
    if missing:
        raise CogfitError(f"{path}: participants table of {dataset!r} lacks column(s) {missing}")
    table["participant"] = table["participant"].astype(str)
    table["excluded"] = table["excluded"].astype(bool)
    return table


def _load(datasets: Sequence[DatasetResults]) -> list[_Dataset]:
    _require_files(datasets)
    return [
        _Dataset(
            d.dataset,
            _load_participants(d.participants, d.dataset),
            tuple(_load_model(m) for m in d.models),
        )
        for d in datasets
    ]


# --------------------------------------------------------------------------- html helpers


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: object, spec: str | None = None) -> str:
    """A cell as text: ``spec`` (e.g. ``RHAT``) for numbers, else 3 significant digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Real):
        return str(value)
    if spec is not None:
        return spec.format(value)
    v = float(value)
    if v.is_integer() or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _interval(low: object, high: object) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _estimate(mean: object, low: object, high: object) -> str:
    return f"{_fmt(mean)} {_interval(low, high)}"


def _table(
    df: pd.DataFrame, row_classes: Sequence[str] | None = None, badges: Sequence[str] = ()
) -> str:
    """An HTML table with every cell escaped; ``badges`` columns hold booleans shown as badges."""
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    is_badge = [c in badges for c in df.columns]
    rows = []
    for i, values in enumerate(df.itertuples(index=False)):
        cells = "".join(
            f"<td>{_badge(bool(v))}</td>" if badge else _cell(_fmt(v))
            for badge, v in zip(is_badge, values, strict=True)
        )
        cls = row_classes[i] if row_classes else ""
        rows.append(f'<tr class="{_e(cls)}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _cell(text: str) -> str:
    """A table cell, escaped; a long one (a 5,000-character id) wraps rather than widening."""
    return f'<td class="long">{_e(text)}</td>' if len(text) > LONG_CELL else f"<td>{_e(text)}</td>"


def _badge(passed: bool) -> str:
    kind, text = ("pass", "PASS") if passed else ("fail", "FAIL")
    return f'<span class="badge {kind}">{text}</span>'


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _figure(png: bytes, caption: str) -> str:
    return f"<figure>{_img(png, caption)}<figcaption>{_e(caption)}</figcaption></figure>"


def _hdi_label(prob: float | None) -> str:
    return f"{100 * prob:g}% HDI" if prob is not None else "HDI"


# --------------------------------------------------------------------------- figures


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _plain(text: object) -> str:
    """Matplotlib reads ``$...$`` as maths; participant ids are never maths."""
    return str(text).replace("$", r"\$")


def _short_labels(names: Sequence[object], width: int = LABEL_CHARS) -> list[str]:
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


@dataclass(frozen=True)
class _Participants:
    """Who belongs to which group, and the colour each group gets in every figure."""

    groups: dict[str, str]
    colours: dict[str, Any]

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> _Participants:
        groups = dict(zip(table["participant"], table["group"].astype(str), strict=True))
        cmap = matplotlib.colormaps["tab10"]
        names = sorted(set(groups.values()))
        return cls(groups, {g: cmap(i % 10) for i, g in enumerate(names)})


def _interval_figure(
    panels: Mapping[str, pd.DataFrame],
    colours: Mapping[str, Any],
    backdrop: Mapping[str, pd.DataFrame] | None = None,
) -> Figure:
    """One panel per parameter: a row per label, dot = mean, line = HDI, colour = group.

    With ``backdrop`` the participant means of each group are drawn as faint dots on that
    group's row, so the spread of individuals can be compared with the group estimate;
    without it a legend names the group colours.
    """
    n_rows = max(len(f) for f in panels.values())
    fig = Figure(figsize=(3.2 * len(panels), 1.0 + 0.25 * n_rows), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (param, frame) in zip(axes, panels.items(), strict=True):
        y = np.arange(len(frame))[::-1]
        colour = [colours.get(g, "grey") for g in frame["group"]]
        if backdrop is not None:
            _draw_backdrop(ax, frame, backdrop[param], y)
        ax.hlines(y, frame["hdi_low"], frame["hdi_high"], colors=colour, linewidth=2)
        ax.scatter(frame["mean"], y, color=colour, zorder=3, s=18)
        ax.set_yticks(y, [_plain(t) for t in _short_labels(frame["label"])], fontsize=8)
        ax.set_ylim(-0.7, len(frame) - 0.3)
        ax.set_title(_plain(param), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    if backdrop is None:
        names = _short_labels(list(colours))
        handles = [
            Line2D([], [], color=c, marker="o", label=_plain(n))
            for n, c in zip(names, colours.values(), strict=True)
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
    return fig


def _draw_backdrop(ax: Any, frame: pd.DataFrame, points: pd.DataFrame, y: np.ndarray) -> None:
    rng = np.random.default_rng(0)  # fixed jitter: the same data draw the same picture
    for row_y, group in zip(y, frame["group"], strict=True):
        means = points.loc[points["group"] == group, "mean"].to_numpy(dtype=float)
        jitter = rng.uniform(-0.15, 0.15, len(means))
        ax.scatter(means, row_y + jitter, color="0.6", s=6, alpha=0.6, zorder=1)


# --------------------------------------------------------------------------- estimates


def _parameters(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(_group_estimates(summary)["parameter"]))


def _group_estimates(summary: pd.DataFrame) -> pd.DataFrame:
    """Group means on the natural scale: the numbers most readers came for."""
    rows = summary[_is_role(summary, "mu_natural")]
    return rows.assign(label=rows["group"].astype(str))


def _participant_estimates(summary: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Participant values on the natural scale (not the offsets), with each one's group."""
    rows = summary[_is_role(summary, "theta") & (summary["level"] == LEVELS["theta"])]
    ids = rows["participant"].astype(str)
    return rows.assign(participant=ids, label=ids, group=ids.map(groups).fillna("?"))


def _is_role(summary: pd.DataFrame, role: str) -> pd.Series:
    """Which summary rows are their parameter's ``role`` variable (:mod:`cogfit.names`)."""
    names = [site_name(str(p), role) for p in summary["parameter"]]
    return summary["variable"] == pd.Series(names, index=summary.index, dtype=object)


def _by_parameter(rows: pd.DataFrame, parameters: Sequence[str]) -> dict[str, pd.DataFrame]:
    return {p: rows[rows["parameter"] == p].reset_index(drop=True) for p in parameters}


# --------------------------------------------------------------------------- sections


def _provenance(datasets: Sequence[_Dataset]) -> str:
    rows = []
    for d in datasets:
        for m in d.models:
            row = {"dataset": d.name, "model": m.name}
            row |= {label: str(m.attrs.get(key, "—")) for label, key in PROVENANCE.items()}
            row["sampler settings"] = _settings(m.attrs.get("sampler_settings"))
            row["wall time"] = _duration(m.attrs.get("wall_time_s"))
            row["converged"] = m.passed
            rows.append(row)
    if not rows:
        return "<p>No model was fitted.</p>"
    return _table(pd.DataFrame(rows), badges=["converged"]) + _settings_legend(datasets)


def _parse_settings(raw: object) -> dict[str, Any] | None:
    """The sampler settings JSON of a posterior as a mapping; None when it is not one."""
    try:
        settings = json.loads(str(raw))
    except json.JSONDecodeError:
        return None
    return settings if isinstance(settings, dict) else None


def _settings(raw: object) -> str:
    """Sampler settings JSON as ``key=value`` pairs; anything unparsable is shown as it is."""
    if raw is None:
        return "—"
    settings = _parse_settings(raw)
    if settings is None:
        return str(raw)
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def _settings_legend(datasets: Sequence[_Dataset]) -> str:
    """What each sampler setting in the provenance table means, in the config schema's
    words (folded away: a reader opens it when a setting's name says too little)."""
    keys: dict[str, None] = {}  # in order of appearance, once each
    for m in (m for d in datasets for m in d.models):
        keys |= dict.fromkeys(_parse_settings(m.attrs.get("sampler_settings")) or {})
    described = subschema("sampler").get("properties", {})
    rows = [
        {"setting": k, "meaning": described[k]["description"]}
        for k in keys
        if "description" in described.get(k, {})
    ]
    if not rows:
        return ""
    return (
        "<details><summary>What the sampler settings mean (config keys "
        f"<code>sampler.*</code>)</summary>{_table(pd.DataFrame(rows))}</details>"
    )


def _duration(seconds: object) -> str:
    if not isinstance(seconds, numbers.Real) or math.isnan(float(seconds)):
        return "—"
    minutes, secs = divmod(float(seconds), 60)
    return f"{int(minutes)} min {secs:.0f} s" if minutes else f"{secs:.1f} s"


HOW_TO_READ = """
<p><b>R-hat</b> compares the spread within each Markov chain with the spread between
chains; values above about 1.01 mean the chains have not yet agreed on one distribution,
and the estimates must not be trusted. <b>ESS</b> (effective sample size) is how many
independent draws the correlated draws are worth: <i>bulk</i> ESS for means and medians,
<i>tail</i> ESS for interval bounds; a few hundred are enough for stable summaries.
<b>Divergences</b> are draws where the sampler's numerical integration broke down,
usually in a region of high curvature (a funnel); even a few mean the posterior may be
explored incompletely. <b>Tree-depth saturation</b> means the sampler hit its step limit
and explored inefficiently, and a low <b>E-BFMI</b> means the momentum resampling explores
the energy levels poorly. The <b>HDI</b> (highest density interval) is the narrowest
interval holding the stated share of posterior probability: given the model and the data,
the parameter lies in it with that probability. Group means are shown on the natural
scale of each parameter (e.g. a learning rate between 0 and 1); group standard deviations
and participant offsets live on the unconstrained scale and are in
<code>summary.parquet</code>.</p>
"""


def _cleaning(participants: pd.DataFrame) -> str:
    excluded = participants[participants["excluded"]]
    n_trials = int(participants["n_trials"].sum())
    n_missed = int(participants["n_missed"].sum())
    share = f"{n_missed / n_trials:.1%}" if n_trials else "—"
    facts = (
        f"<p>{len(participants)} participants: <b>{len(participants) - len(excluded)} included</b>,"
        f" <b>{len(excluded)} excluded</b>. {n_missed:,} of {n_trials:,} trials missed"
        f" ({share}).</p>"
    )
    if excluded.empty:
        exclusions = "<p>No participant was excluded.</p>"
    else:
        columns = [c for c in (*PARTICIPANT_COLUMNS, "p_best", "reason") if c in excluded]
        exclusions = "<h4>Exclusions</h4>" + _table(excluded[columns])
    return f"<h3>Data cleaning</h3>{facts}{_table(_group_counts(participants))}{exclusions}"


def _group_counts(participants: pd.DataFrame) -> pd.DataFrame:
    grouped = participants.groupby("group", sort=True)
    table = pd.DataFrame(
        {
            "participants": grouped.size(),
            "included": grouped["excluded"].apply(lambda s: int((~s).sum())),
            "excluded": grouped["excluded"].sum().astype(int),
            "mean missed fraction": grouped["missed_fraction"].mean(),
        }
    )
    if "p_best" in participants:
        table["mean p(best)"] = grouped["p_best"].mean()
    return table.reset_index()


def _comparison(models: Sequence[_Model]) -> str:
    """Group means of every model side by side; a parameter a model lacks stays blank."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for m in models:
        for r in _group_estimates(m.summary).itertuples():
            cells.setdefault((r.parameter, r.label), {})[m.name] = _estimate(
                r.mean, r.hdi_low, r.hdi_high
            )
    rows = [{"parameter": p, "group": g, **by_model} for (p, g), by_model in cells.items()]
    table = pd.DataFrame(rows, columns=["parameter", "group", *[m.name for m in models]])
    return (
        "<h3>Group means across models</h3><p>Posterior mean and HDI of each group mean on the "
        f"natural scale.</p>{_table(table)}"
    )


def _convergence(model: _Model) -> str:
    checks = model.checks
    passed = checks["passed"].astype(bool)
    shown = pd.DataFrame(
        {
            "check": checks["check"],
            "scope": checks["scope"],
            "value": [
                _fmt(v, CHECK_FORMATS.get(c))
                for c, v in zip(checks["check"], checks["value"], strict=True)
            ],
            "rule": checks["rule"],
            "passed": passed,
            # the overall row lists every failure, which the highlighted rows already show
            "worst parameter": checks["worst"].where(checks["check"] != "overall", ""),
        }
    )
    n_failed = int((~passed & (checks["check"] != "overall")).sum())
    note = (
        "<p>Every convergence check passed.</p>"
        if n_failed == 0
        else f'<p class="warn">{n_failed} check(s) failed (highlighted): treat the estimates '
        "below with caution, or refit with more warmup, more draws or a higher target "
        "acceptance rate.</p>"
    )
    classes = ["" if p else "fail" for p in passed]
    return f"<h4>Convergence {_badge(model.passed)}</h4>{note}{_table(shown, classes, ['passed'])}"


def _estimate_columns(rows: pd.DataFrame, hdi_label: str) -> dict[str, list[str]]:
    return {
        "mean": [_fmt(v) for v in rows["mean"]],
        "sd": [_fmt(v) for v in rows["sd"]],
        hdi_label: [
            _interval(lo, hi) for lo, hi in zip(rows["hdi_low"], rows["hdi_high"], strict=True)
        ],
        "R-hat": [_fmt(v, RHAT) for v in rows["r_hat"]],
        "ESS bulk": [_fmt(v, ESS) for v in rows["ess_bulk"]],
        "ESS tail": [_fmt(v, ESS) for v in rows["ess_tail"]],
    }


def _group_section(model: _Model, participants: _Participants, options: ReportOptions) -> str:
    rows = _group_estimates(model.summary)
    if rows.empty:
        return "<p>No group-level estimates found in the summary.</p>"
    params = _parameters(model.summary)
    points = _participant_estimates(model.summary, participants.groups)
    fig = _interval_figure(
        _by_parameter(rows, params), participants.colours, backdrop=_by_parameter(points, params)
    )
    png = _png(fig, options.dpi)
    label = _hdi_label(model.hdi_prob)
    table = pd.DataFrame(
        {"parameter": rows["parameter"], "group": rows["label"], **_estimate_columns(rows, label)}
    )
    caption = f"Group means (dot) with {label} (line); grey dots: participant posterior means."
    return f"<h4>Group-level estimates (natural scale)</h4>{_table(table)}{_figure(png, caption)}"


def _participant_table(rows: pd.DataFrame, params: Sequence[str], hdi_label: str) -> pd.DataFrame:
    """One row per participant, one column per parameter: easier to scan than a long table."""
    texts = [
        _estimate(m, lo, hi)
        for m, lo, hi in zip(rows["mean"], rows["hdi_low"], rows["hdi_high"], strict=True)
    ]
    wide = rows.assign(text=texts).pivot(index="participant", columns="parameter", values="text")
    per = rows.groupby("participant", sort=False).agg(
        group=("group", "first"), r_hat=("r_hat", "max"), ess=("ess_bulk", "min")
    )
    table = pd.DataFrame({"participant": per.index, "group": per["group"].to_numpy()})
    for p in params:
        table[f"{p}: mean {hdi_label}"] = wide.loc[per.index, p].to_numpy()
    table["max R-hat"] = [_fmt(v, RHAT) for v in per["r_hat"]]
    table["min ESS bulk"] = [_fmt(v, ESS) for v in per["ess"]]
    return table


def _participant_figure(
    rows: pd.DataFrame, params: Sequence[str], colours: Mapping[str, Any]
) -> Figure:
    """A panel per parameter, participants sorted by mean (rows of _participant_estimates)."""
    ordered = {p: f.sort_values("mean") for p, f in _by_parameter(rows, params).items()}
    return _interval_figure(ordered, colours)


def _participant_section(model: _Model, participants: _Participants, options: ReportOptions) -> str:
    rows = _participant_estimates(model.summary, participants.groups)
    if not options.participant_table or rows.empty:
        return ""
    ids = list(dict.fromkeys(rows["participant"]))
    shown = ids[: options.max_participants]
    rows = rows[rows["participant"].isin(shown)]
    note = (
        f"<p>Showing {len(shown)} of {len(ids)} participants; all are in "
        "<code>summary.parquet</code>.</p>"
        if len(shown) < len(ids)
        else ""
    )
    if rows.empty:
        return f"<h4>Participant estimates</h4>{note}"
    params = _parameters(model.summary)
    label = _hdi_label(model.hdi_prob)
    png = _png(_participant_figure(rows, params, participants.colours), options.dpi)
    caption = f"Participant estimates sorted by mean, with {label}; colour = group."
    table = _table(_participant_table(rows, params, label))
    return f"<h4>Participant estimates</h4>{note}{table}{_figure(png, caption)}"


def _model_section(
    model: _Model, participants: _Participants, options: ReportOptions, anchor: str
) -> str:
    plots = _figure(model.trace_png, f"Trace plot of the group-level parameters ({model.name})")
    plots += _figure(model.rank_png, f"Rank plot of the group-level parameters ({model.name})")
    return (
        f'<section id="{anchor}"><h3>Model {_e(model.name)} {_badge(model.passed)}</h3>'
        f"{_convergence(model)}{_group_section(model, participants, options)}"
        f"{_participant_section(model, participants, options)}"
        "<h4>Trace and rank plots</h4><p>Chains should overlap in the trace plot and the "
        f"rank histograms should be flat.</p>{plots}</section>"
    )


def _dataset_section(index: int, dataset: _Dataset, options: ReportOptions) -> str:
    participants = _Participants.from_table(dataset.participants)
    parts = [f'<section id="d{index}"><h2>Dataset {_e(dataset.name)}</h2>']
    parts.append(_cleaning(dataset.participants))
    if len(dataset.models) > 1:
        parts.append(_comparison(dataset.models))
    for j, model in enumerate(dataset.models):
        parts.append(_model_section(model, participants, options, f"d{index}m{j}"))
    parts.append("</section>")
    return "".join(parts)


def _contents(datasets: Sequence[_Dataset]) -> str:
    items = []
    for i, d in enumerate(datasets):
        models = "".join(
            f'<li><a href="#d{i}m{j}">{_e(m.name)}</a> {_badge(m.passed)}</li>'
            for j, m in enumerate(d.models)
        )
        items.append(f'<li><a href="#d{i}">{_e(d.name)}</a><ul>{models}</ul></li>')
    return f"<nav><h2>Contents</h2><ul>{''.join(items)}</ul></nav>"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #aaa;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.fail td{background:#fde2e2}
.scroll{overflow-x:auto;max-height:40em;overflow-y:auto}
td.long{overflow-wrap:anywhere;min-width:12em}
.badge{display:inline-block;padding:.05em .5em;border-radius:.3em;color:#fff;
font-weight:bold;font-size:.85em}.badge.pass{background:#2e7d32}.badge.fail{background:#c62828}
.warn{color:#c62828}figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}code{background:#f4f4f4;padding:0 .2em}
summary{cursor:pointer;color:#555;font-size:.9em}
"""


# --------------------------------------------------------------------------- entry points


def build_report(title: str, datasets: Sequence[DatasetResults], options: ReportOptions) -> str:
    """Load every artifact and return the whole report as one HTML string."""
    loaded = _load(datasets)
    generated = options.generated_at or datetime.now(UTC).isoformat(timespec="seconds")
    header = (
        f"<h1>{_e(title)}</h1><p>Generated {_e(generated)} by cogfit {_e(__version__)}.</p>"
        f"<h2>Provenance</h2>{_provenance(loaded)}<h2>How to read this report</h2>{HOW_TO_READ}"
    )
    body = [header, _contents(loaded)]
    body += [_dataset_section(i, d, options) for i, d in enumerate(loaded)]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def run_report(
    title: str,
    datasets: Sequence[DatasetResults],
    out_html: PathLike,
    options: ReportOptions | None = None,
) -> None:
    """Build the report and write it atomically (what the Snakemake script calls)."""
    write_text(build_report(title, datasets, options or ReportOptions()), out_html)
