"""A single self-contained HTML report: one file to e-mail, archive or open offline.

The page is rendered from the Jinja2 template ``templates/report.html.j2`` with
autoescaping on, so every string that came from data or config is HTML-escaped; everything
the reader sees is embedded (inline CSS, figures as base64 PNG data URIs). The report only
*reads* the artifacts of earlier steps (cleaning table, posterior attributes, summaries,
convergence checks, contrasts, model comparison, posterior predictive checks and the PNG
figures of :mod:`cogfit.figures`) and recomputes no statistic: its intervals are those of
the artifacts, labelled with the probability they were made with. A figure whose PNG was
not given is drawn here from the same tables.
"""

from __future__ import annotations

import base64
import json
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cogfit import __version__
from cogfit import figures as figs
from cogfit.comparison import TABLE_COLUMNS as COMPARISON_COLUMNS
from cogfit.comparison import verdict
from cogfit.contrasts import COLUMNS as CONTRAST_COLUMNS
from cogfit.contrasts import credible
from cogfit.errors import CogfitError, ConfigError
from cogfit.figure_files import FIT_FIGURES, FigureStyle
from cogfit.io import write_text
from cogfit.models.spec import DEFAULT_SD_PRIOR, SD_PRIORS
from cogfit.schema import subschema
from cogfit.settings import settings_from_section

PathLike = str | os.PathLike[str]
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"
RHAT = "{:.3f}"  # R-hat thresholds sit at the second decimal: show the third
ESS = "{:,.0f}"
PROB = "{:.2f}"
#: How each check's value is shown; the rest get three significant digits.
CHECK_FORMATS = {"r_hat": "{:.4f}", "ess_bulk": ESS, "ess_tail": ESS, "overall": "{:.0f}"}
PARTICIPANT_COLUMNS = ("participant", "group", "n_trials", "n_missed", "missed_fraction")
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
COMPARISON_PARTICIPANT_COLUMNS = ("participant", "group", "model", "bms_probability", "best")
METHODS = {
    "psis": "PSIS-LOO over participants",
    "kfold": "exact K-fold cross-validation by participant",
}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ModelResults:
    """Where one fitted model's artifacts live; the analysis ones are optional (None:
    that section is left out, or its figure drawn here from the table)."""

    model: str
    posterior: PathLike
    summary: PathLike
    diagnostics: PathLike
    trace_png: PathLike
    rank_png: PathLike
    contrasts: PathLike | None = None
    ppc: PathLike | None = None
    regressors: PathLike | None = None  # named in the report, not read
    estimates_png: PathLike | None = None
    ppc_png: PathLike | None = None
    correlations_png: PathLike | None = None

    def paths(self) -> tuple[PathLike, ...]:
        """Every artifact path given (the report needs each of them to exist)."""
        values = (getattr(self, f.name) for f in fields(self) if f.name != "model")
        return tuple(v for v in values if v is not None)


#: the fields of :class:`ModelResults` the report rule passes, each a list parallel to fits
MODEL_ARTIFACTS = tuple(f.name for f in fields(ModelResults) if f.name != "model")


@dataclass(frozen=True)
class DatasetResults:
    """One dataset: its cleaning table, every model fitted to it and their comparison."""

    dataset: str
    participants: PathLike
    models: tuple[ModelResults, ...] = ()
    comparison: PathLike | None = None
    comparison_participants: PathLike | None = None
    comparison_png: PathLike | None = None

    def paths(self) -> tuple[PathLike, ...]:
        """Every artifact path of the dataset's own (the models' are theirs)."""
        own = (self.comparison, self.comparison_participants, self.comparison_png)
        return (self.participants, *(p for p in own if p is not None))


#: the dataset-level fields the report rule passes, each a list parallel to datasets
DATASET_ARTIFACTS = ("comparison", "comparison_participants", "comparison_png")


def collect_results(
    datasets: Sequence[str],
    fits: Sequence[Sequence[str]],
    participants: Sequence[PathLike],
    model_artifacts: Mapping[str, Sequence[PathLike]],
    dataset_artifacts: Mapping[str, Sequence[PathLike]] | None = None,
) -> list[DatasetResults]:
    """Group the report rule's flat inputs by dataset.

    ``participants`` and each list of ``dataset_artifacts`` run parallel to ``datasets``;
    each list of ``model_artifacts`` (keys: :data:`MODEL_ARTIFACTS`) runs parallel to
    ``fits``, the (dataset, model) pairs, as the Snakemake rule lists them."""
    extra = dict(dataset_artifacts or {})
    unknown = (set(model_artifacts) - set(MODEL_ARTIFACTS)) | (set(extra) - {*DATASET_ARTIFACTS})
    if unknown:
        raise ConfigError(f"report inputs: unknown artifact name(s) {sorted(unknown)}")
    lengths = [len(v) for v in model_artifacts.values()]
    per_dataset = [len(participants), *(len(v) for v in extra.values())]
    if any(n != len(fits) for n in lengths) or any(n != len(datasets) for n in per_dataset):
        raise ConfigError(
            f"report inputs do not line up: {len(datasets)} dataset(s), {len(fits)} fit(s), "
            f"dataset lists of lengths {per_dataset}, model lists of lengths {lengths}"
        )
    results = []
    for k, (name, table) in enumerate(zip(datasets, participants, strict=True)):
        models = tuple(
            ModelResults(fits[i][1], **{key: paths[i] for key, paths in model_artifacts.items()})
            for i, (d, _) in enumerate(fits)
            if d == name
        )
        own = {key: paths[k] for key, paths in extra.items()}
        results.append(DatasetResults(name, table, models, **own))
    return results


@dataclass(frozen=True)
class ReportOptions:
    """How to present the results: the config's ``report`` section but ``title`` (an
    argument of :func:`build_report`), and ``generated_at``, which is no config key; none
    of these change a number that was computed. The defaults are the schema's (a test
    keeps them equal)."""

    dpi: int = 110  # of the figures drawn here; embedded PNG files are shown as they are
    participant_table: bool = True  # the per-participant table and figure of every model
    max_participants: int = 500
    generated_at: str | None = None  # None: now (UTC); fix it for byte-identical reports

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ReportOptions:
        """From the config's ``report`` mapping, checked against its schema (limits,
        unknown keys); missing keys take the schema's defaults."""
        return settings_from_section(cls, "report", cfg)

    def figure_style(self) -> FigureStyle:
        """The style of the figures drawn here (PNG only, at the report's dpi)."""
        return FigureStyle(formats=("png",), dpi=self.dpi)


# --------------------------------------------------------------------------- loaded artifacts


@dataclass(frozen=True)
class _Model:
    """One model's artifacts, loaded (optional tables None when not given)."""

    name: str
    attrs: dict[str, Any]
    summary: pd.DataFrame
    checks: pd.DataFrame
    trace_png: bytes
    rank_png: bytes
    contrasts: pd.DataFrame | None = None
    ppc: pd.DataFrame | None = None
    regressors: str | None = None
    pngs: dict[str, bytes] = field(default_factory=dict)  # figure kind -> PNG file

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
    comparison: pd.DataFrame | None = None
    comparison_participants: pd.DataFrame | None = None
    comparison_png: bytes | None = None

    @property
    def groups(self) -> dict[str, str]:
        """Participant -> group, from the cleaning table."""
        table = self.participants
        return dict(zip(table["participant"], table["group"].astype(str), strict=True))


def _require_files(datasets: Sequence[DatasetResults]) -> None:
    """Name every missing input at once rather than failing on the first deep in a reader."""
    paths = [p for d in datasets for p in d.paths()]
    paths += [p for d in datasets for m in d.models for p in m.paths()]
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise CogfitError(f"cannot build the report; missing input file(s): {missing}")


def _optional(path: PathLike | None, read: Callable[[PathLike], Any]) -> Any:
    return None if path is None else read(path)


def _load_model(fit: ModelResults) -> _Model:
    pngs = {
        kind: Path(path).read_bytes()
        for kind in FIT_FIGURES
        if (path := getattr(fit, f"{kind}_png")) is not None
    }
    attrs = figs.posterior_attrs(fit.posterior)  # provenance and priors, not the draws
    return _Model(
        name=fit.model,
        attrs=attrs,
        summary=figs.in_model_order(pd.read_parquet(fit.summary), attrs),
        checks=pd.read_parquet(fit.diagnostics),
        trace_png=Path(fit.trace_png).read_bytes(),
        rank_png=Path(fit.rank_png).read_bytes(),
        contrasts=_optional(
            fit.contrasts, lambda p: figs.read_table(p, CONTRAST_COLUMNS, "contrasts")
        ),
        ppc=_optional(fit.ppc, lambda p: figs.read_table(p, figs.PPC_COLUMNS, "ppc")),
        regressors=None if fit.regressors is None else str(fit.regressors),
        pngs=pngs,
    )


def _load_participants(path: PathLike, dataset: str) -> pd.DataFrame:
    table = pd.read_parquet(path)
    missing = [c for c in (*PARTICIPANT_COLUMNS, "excluded", "reason") if c not in table]
    if missing:
        raise CogfitError(f"{path}: participants table of {dataset!r} lacks column(s) {missing}")
    table["participant"] = table["participant"].astype(str)
    table["excluded"] = table["excluded"].astype(bool)
    return _natural_rows(table)


def _load_dataset(d: DatasetResults) -> _Dataset:
    comparison = _optional(
        d.comparison, lambda p: figs.read_table(p, COMPARISON_COLUMNS, "model comparison")
    )
    per = _optional(
        d.comparison_participants,
        lambda p: figs.read_table(p, COMPARISON_PARTICIPANT_COLUMNS, "model comparison"),
    )
    return _Dataset(
        d.dataset,
        _load_participants(d.participants, d.dataset),
        tuple(_load_model(m) for m in d.models),
        comparison,
        per,
        _optional(d.comparison_png, lambda p: Path(p).read_bytes()),
    )


def _load(datasets: Sequence[DatasetResults]) -> list[_Dataset]:
    _require_files(datasets)
    return [_load_dataset(d) for d in datasets]


def _natural_rows(table: pd.DataFrame, column: str = "participant") -> pd.DataFrame:
    """Rows in the natural order of ``column`` (numeric ids as numbers: "2" before "10")."""
    return table.sort_values(column, key=lambda s: s.map(figs.natural_key), kind="stable")


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class Cell:
    """One table cell: text, or a PASS/FAIL badge when ``badge`` is set."""

    text: str = ""
    badge: bool | None = None

    @property
    def long(self) -> bool:
        """A long cell (a 5,000-character id) wraps rather than widening the table."""
        return len(self.text) > LONG_CELL


@dataclass(frozen=True)
class Row:
    cells: list[Cell]
    cls: str = ""


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[Row]


@dataclass(frozen=True)
class Image:
    """An embedded PNG (data URI) with its caption."""

    src: str
    caption: str


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


def _with_se(value: object, se: object) -> str:
    return f"{_fmt(value)} ({_fmt(se)})"


def _table(
    df: pd.DataFrame, row_classes: Sequence[str] | None = None, badges: Sequence[str] = ()
) -> Table:
    """A table of text cells (the template escapes them); ``badges`` columns hold
    booleans shown as PASS/FAIL badges."""
    is_badge = [c in badges for c in df.columns]
    rows = []
    for i, values in enumerate(df.itertuples(index=False)):
        cells = [
            Cell(badge=bool(v)) if badge else Cell(_fmt(v))
            for badge, v in zip(is_badge, values, strict=True)
        ]
        rows.append(Row(cells, row_classes[i] if row_classes else ""))
    return Table([str(c) for c in df.columns], rows)


def _uri(png: bytes) -> str:
    """A PNG as a data URI; one that is no palette PNG yet (the diagnose stage's plots) is
    re-encoded with a palette first (:func:`cogfit.figures.compact_png`), which keeps the
    report small; the figures stage's PNG files are embedded byte for byte."""
    return "data:image/png;base64," + base64.b64encode(figs.compact_png(png)).decode("ascii")


def _png(fig: Figure, style: FigureStyle) -> bytes:
    return figs.figure_bytes(fig, "png", style)


def _image(
    png: bytes | None, draw: Callable[[], Figure], style: FigureStyle, caption: str
) -> Image:
    """The figure's PNG file when given, else the figure drawn here."""
    return Image(_uri(png if png is not None else _png(draw(), style)), caption)


def _hdi_label(prob: float | None) -> str:
    return f"{100 * prob:g}% HDI" if prob is not None else "HDI"


# --------------------------------------------------------------------------- provenance


def _provenance(datasets: Sequence[_Dataset]) -> Table | None:
    rows = []
    for d in datasets:
        for m in d.models:
            row = {"dataset": d.name, "model": m.name}
            row |= {label: str(m.attrs.get(key, "—")) for label, key in PROVENANCE.items()}
            row["sampler settings"] = _settings(m.attrs.get("sampler_settings"))
            row["wall time"] = _duration(m.attrs.get("wall_time_s"))
            row["converged"] = m.passed
            rows.append(row)
    return _table(pd.DataFrame(rows), badges=["converged"]) if rows else None


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


def _settings_legend(datasets: Sequence[_Dataset]) -> Table | None:
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
    return _table(pd.DataFrame(rows)) if rows else None


def _duration(seconds: object) -> str:
    if not isinstance(seconds, numbers.Real) or math.isnan(float(seconds)):
        return "—"
    minutes, secs = divmod(float(seconds), 60)
    return f"{int(minutes)} min {secs:.0f} s" if minutes else f"{secs:.1f} s"


# --------------------------------------------------------------------------- dataset sections


def _cleaning(participants: pd.DataFrame) -> dict[str, Any]:
    excluded = participants[participants["excluded"]]
    columns = [c for c in (*PARTICIPANT_COLUMNS, "p_best", "reason") if c in excluded]
    n_trials = int(participants["n_trials"].sum())
    return {
        "n_participants": len(participants),
        "n_included": len(participants) - len(excluded),
        "n_excluded": len(excluded),
        "n_trials": f"{n_trials:,}",
        "n_missed": f"{int(participants['n_missed'].sum()):,}",
        "missed_share": (f"{participants['n_missed'].sum() / n_trials:.1%}" if n_trials else "—"),
        "groups": _table(_group_counts(participants)),
        "exclusions": _table(excluded[columns]) if len(excluded) else None,
    }


def _group_counts(participants: pd.DataFrame) -> pd.DataFrame:
    grouped = participants.groupby("group", sort=False)
    table = pd.DataFrame(
        {
            "participants": grouped.size(),
            "included": grouped["excluded"].apply(lambda s: int((~s).sum())),
            "excluded": grouped["excluded"].sum().astype(int),
            "mean missed fraction": grouped["missed_fraction"].mean(),
        }
    )
    if "p_best" in participants and participants["p_best"].notna().any():  # a bandit's
        table["mean p(best)"] = grouped["p_best"].mean()
    table = table.reset_index()
    return _natural_rows(table.assign(group=table["group"].astype(str)), "group")


def _across_models(models: Sequence[_Model]) -> Table | None:
    """Group means of every model side by side; a parameter a model lacks stays blank."""
    if len(models) < 2:
        return None
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for m in models:
        for r in figs.group_estimates(m.summary).itertuples():
            cells.setdefault((r.parameter, r.label), {})[m.name] = _estimate(
                r.mean, r.hdi_low, r.hdi_high
            )
    params = {p: i for i, p in enumerate(dict.fromkeys(p for p, _ in cells))}
    keys = sorted(cells, key=lambda k: (params[k[0]], figs.natural_key(k[1])))
    rows = [{"parameter": p, "group": g, **cells[(p, g)]} for p, g in keys]
    return _table(pd.DataFrame(rows, columns=["parameter", "group", *[m.name for m in models]]))


def _comparison(dataset: _Dataset, style: FigureStyle) -> dict[str, Any] | None:
    """The model comparison: table, warning, figure, BMS and best model per participant."""
    table = dataset.comparison
    if table is None or table.empty:
        return None
    table = table.sort_values("rank", kind="stable").reset_index(drop=True)
    warned = [str(m) for m, k in zip(table["model"], table["k_warning"], strict=True) if k]
    methods = sorted({str(m) for m in table["method"]})
    image = _image(
        dataset.comparison_png,
        lambda: figs.comparison_figure(table, style),
        style,
        "Left: elpd of each model relative to the best (± SE of the difference). "
        "Right: protected (bars) and plain (dots) exceedance probabilities of "
        "random-effects Bayesian model selection.",
    )
    return {
        "method": "; ".join(METHODS.get(m, m) for m in methods),
        "n_participants": _fmt(table["n_participants"].iloc[0]),
        "warned": [(m, _bad_k(table, m)) for m in warned],
        "table": _table(_comparison_table(table)),
        "image": image,
        "n_models": len(table),
        "verdict": verdict(table),
        "bms": _bms(table),
        "participants": _best_per_participant(dataset.comparison_participants, dataset.groups),
    }


def _bad_k(table: pd.DataFrame, model: str) -> str:
    row = table[table["model"] == model].iloc[0]
    n = int(row["k_bad"]) + int(row["k_very_bad"])
    return f"{n} participant(s), max k {_fmt(row['pareto_k_max'], PROB)}"


def _comparison_table(table: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader needs; the Pareto k ones only where PSIS-LOO gave them."""
    k_counts = [
        f"{int(g)} / {int(b)} / {int(v)}"
        for g, b, v in zip(table["k_good"], table["k_bad"], table["k_very_bad"], strict=True)
    ]
    shown = pd.DataFrame(
        {
            "rank": range(1, len(table) + 1),  # the table comes sorted by its rank
            "model": table["model"],
            "elpd (SE)": [_with_se(v, s) for v, s in zip(table["elpd"], table["se"], strict=True)],
            "elpd diff from best (SE)": [
                _with_se(v, s) for v, s in zip(table["elpd_diff"], table["diff_se"], strict=True)
            ],
            "p_eff": [_fmt(v) for v in table["p_eff"]],
            "weight": [_fmt(v, PROB) for v in table["weight"]],
            "max Pareto k": [_fmt(v, PROB) for v in table["pareto_k_max"]],
            "k good / bad / very bad": k_counts,
            "min IS ESS": [_fmt(v) for v in table["is_ess_min"]],
            "BMS frequency": [_fmt(v, PROB) for v in table["bms_frequency"]],
            "xp": [_fmt(v, PROB) for v in table["bms_xp"]],
            "pxp": [_fmt(v, PROB) for v in table["bms_pxp"]],
            "best for": [f"{int(n)}" for n in table["n_best"]],
        }
    )
    if not (table["method"] == "psis").any():
        shown = shown.drop(columns=["max Pareto k", "k good / bad / very bad"])
    return shown


def _bms(table: pd.DataFrame) -> dict[str, Any]:
    top = table.loc[table["bms_pxp"].fillna(-1).idxmax()]
    counts = [(str(m), int(n)) for m, n in zip(table["model"], table["n_best"], strict=True)]
    return {
        "model": str(top["model"]),
        "pxp": _fmt(top["bms_pxp"], PROB),
        "bor": _fmt(table["bms_bor"].iloc[0], PROB),
        "counts": counts,
    }


def _best_per_participant(per: pd.DataFrame | None, groups: Mapping[str, str]) -> Table | None:
    """Participant, group (the cleaning table's where the comparison has none), the model
    best for them and each model's posterior probability."""
    if per is None or per.empty:
        return None
    per = per.assign(participant=per["participant"].astype(str))
    wide = per.pivot(index="participant", columns="model", values="bms_probability")
    best = per[per["best"].astype(bool)].groupby("participant")["model"].first()
    recorded = per.groupby("participant")["group"].first()
    ids = sorted(wide.index, key=figs.natural_key)
    group = [g if isinstance(g, str) else groups.get(p) for p, g in recorded.loc[ids].items()]
    table = pd.DataFrame({"participant": ids, "group": group, "best": best.reindex(ids)})
    for model in dict.fromkeys(per["model"]):
        table[f"P({model})"] = [_fmt(v, PROB) for v in wide.loc[ids, model]]
    return _table(table)


# --------------------------------------------------------------------------- model sections


def _convergence(model: _Model) -> dict[str, Any]:
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
    classes = ["" if p else "fail" for p in passed]
    return {"n_failed": n_failed, "table": _table(shown, classes, ["passed"])}


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


def _estimates(
    model: _Model, groups: Mapping[str, str], style: FigureStyle
) -> dict[str, Any] | None:
    rows = figs.group_estimates(model.summary)
    if rows.empty:
        return None
    rows = _natural_rows(rows, "group")
    rows = rows.sort_values("parameter", key=lambda s: s.map(_order(rows)), kind="stable")
    label = _hdi_label(model.hdi_prob)
    table = pd.DataFrame(
        {"parameter": rows["parameter"], "group": rows["label"], **_estimate_columns(rows, label)}
    )
    contrasts = figs.natural_contrasts(model.contrasts)
    caption = f"Group means (dot) with {label} (line); grey dots: participant posterior means."
    if len(contrasts):
        caption += " Below: differences of the group means with their HDI, P(difference > 0)."
    image = _image(
        model.pngs.get("estimates"),
        lambda: figs.estimates_figure(model.summary, groups, model.contrasts, style),
        style,
        caption,
    )
    return {"table": _table(table), "image": image}


def _order(rows: pd.DataFrame) -> dict[str, int]:
    """Each parameter's position in the summary (the model's order)."""
    return {p: i for i, p in enumerate(dict.fromkeys(rows["parameter"]))}


def _contrasts(model: _Model) -> dict[str, Any] | None:
    """Natural-scale contrasts: mean [HDI], P(> 0) and, where a ROPE is set, P(in ROPE)."""
    if model.contrasts is None:
        return None
    rows = figs.natural_contrasts(model.contrasts)
    if rows.empty:
        return {"table": None}
    label = _hdi_label(float(rows["hdi_prob"].iloc[0]))
    table = pd.DataFrame(
        {
            "parameter": rows["parameter"],
            "contrast": [
                f"{a} − {b}" for a, b in zip(rows["group_a"], rows["group_b"], strict=True)
            ],
            f"mean {label}": [
                _estimate(m, lo, hi)
                for m, lo, hi in zip(rows["mean"], rows["hdi_low"], rows["hdi_high"], strict=True)
            ],
            "P(> 0)": [_fmt(v, PROB) for v in rows["p_greater"]],
        }
    )
    has_rope = rows["rope_low"].notna()
    if has_rope.any():
        table["ROPE"] = [
            _interval(lo, hi) if ok else "—"
            for lo, hi, ok in zip(rows["rope_low"], rows["rope_high"], has_rope, strict=True)
        ]
        table["P(in ROPE)"] = [_fmt(v, PROB) for v in rows["p_in_rope"]]
    supported = credible(model.contrasts)
    found = [
        f"{r.parameter}: {r.group_a} − {r.group_b} = {_estimate(r.mean, r.hdi_low, r.hdi_high)}"
        for r in supported.itertuples()
    ]
    return {"table": _table(table), "credible": found, "hdi_label": label}


def _ppc(model: _Model, style: FigureStyle) -> dict[str, Any] | None:
    """PPC figure and the participants the model does not reproduce."""
    if model.ppc is None:
        return None
    ppc = model.ppc
    measure = figs.measure_label(ppc)
    people = _natural_rows(ppc[ppc["statistic"] == figs.PARTICIPANT])
    flagged = people[people["flagged"].astype(bool)]
    interval = ppc["interval"].dropna()
    share = f"{100 * float(interval.iloc[0]):g}%" if len(interval) else ""
    image = _image(
        model.pngs.get("ppc"),
        lambda: figs.ppc_figure(ppc, style),
        style,
        f"Observed (black) against predicted (mean: line; {share} interval: band or bar): "
        f"P({measure}) per trial bin, and P(stay) after a better and a worse outcome.",
    )
    table = pd.DataFrame(
        {
            "participant": flagged["participant"],
            "group": flagged["group"],
            f"observed P({measure})": [_fmt(v) for v in flagged["observed"]],
            f"predicted P({measure}) [{share}]": [
                _estimate(m, lo, hi)
                for m, lo, hi in zip(
                    flagged["predicted_mean"],
                    flagged["predicted_low"],
                    flagged["predicted_high"],
                    strict=True,
                )
            ],
            "p-value": [_fmt(v, "{:.3f}") for v in flagged["p_value"]],
        }
    )
    outside, checked = figs.group_misses(ppc)
    return {
        "image": image,
        "share": share,
        "outside": outside,
        "checked": checked,
        "expected": round(checked * (1 - float(interval.iloc[0]))) if len(interval) else 0,
        "n_participants": len(people),
        "n_flagged": len(flagged),
        "flagged": _table(table) if len(flagged) else None,
    }


def _priors(model: _Model) -> Table | None:
    """The parameter specs the fit recorded: link, priors and what each parameter is."""
    try:
        specs = json.loads(str(model.attrs["priors"]))
    except (KeyError, json.JSONDecodeError):
        return None
    rows = [
        {
            "parameter": s.get("name", "?"),
            "meaning": s.get("description") or "—",
            "link": _link_text(s),
            "group mean μ (unconstrained)": (
                f"Normal({_fmt(s.get('mean_loc'))}, {_fmt(s.get('mean_scale'))})"
            ),
            "group sd σ": f"{_sd_prior_name(s)}({_fmt(s.get('sd_scale'))})",
        }
        for s in specs
        if isinstance(s, dict)
    ]
    return _table(pd.DataFrame(rows)) if rows else None


def _sd_prior_name(spec: Mapping[str, Any]) -> str:
    """The group sd's prior as the report writes it (a fit recorded before ``sd_prior``
    existed had the default)."""
    return SD_PRIORS.get(str(spec.get("sd_prior", DEFAULT_SD_PRIOR)), "?")


def _link_text(spec: Mapping[str, Any]) -> str:
    upper = spec.get("upper")
    link = str(spec.get("link", "?"))
    return f"{link} (upper {_fmt(upper)})" if upper is not None else link


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
    ids = sorted(per.index, key=figs.natural_key)
    table = pd.DataFrame({"participant": ids, "group": per.loc[ids, "group"].to_numpy()})
    for p in params:
        table[f"{p}: mean {hdi_label}"] = wide.loc[ids, p].to_numpy()
    table["max R-hat"] = [_fmt(v, RHAT) for v in per.loc[ids, "r_hat"]]
    table["min ESS bulk"] = [_fmt(v, ESS) for v in per.loc[ids, "ess"]]
    return table


def _participants(
    model: _Model, groups: Mapping[str, str], options: ReportOptions
) -> dict[str, Any] | None:
    rows = figs.participant_estimates(model.summary, groups)
    if not options.participant_table or rows.empty:
        return None
    ids = sorted(set(rows["participant"]), key=figs.natural_key)
    shown = ids[: options.max_participants]
    rows = rows[rows["participant"].isin(shown)]
    params = figs.parameters(model.summary)
    label = _hdi_label(model.hdi_prob)
    style = options.figure_style()
    png = _png(figs.participant_figure(rows, params, style), style)
    return {
        "n_shown": len(shown),
        "n_all": len(ids),
        "table": _table(_participant_table(rows, params, label)),
        "image": Image(
            _uri(png), f"Participant estimates sorted by mean, with {label}; colour = group."
        ),
    }


def _correlations(model: _Model, groups: Mapping[str, str], style: FigureStyle) -> Image | None:
    if len(figs.parameters(model.summary)) < 2:
        return None
    return _image(
        model.pngs.get("correlations"),
        lambda: figs.correlation_figure(model.summary, groups, style),
        style,
        "Posterior-mean participant estimates against each other, with the Pearson "
        "correlation across participants (means shrink towards their group mean).",
    )


def _model_view(
    model: _Model, groups: Mapping[str, str], options: ReportOptions, anchor: str
) -> dict[str, Any]:
    style = options.figure_style()
    return {
        "anchor": anchor,
        "name": model.name,
        "passed": model.passed,
        "convergence": _convergence(model),
        "estimates": _estimates(model, groups, style),
        "contrasts": _contrasts(model),
        "ppc": _ppc(model, style),
        "priors": _priors(model),
        "participants": _participants(model, groups, options),
        "correlations": _correlations(model, groups, style),
        "regressors": model.regressors,
        "trace": Image(
            _uri(model.trace_png), f"Trace plot of the group-level parameters ({model.name})"
        ),
        "rank": Image(
            _uri(model.rank_png), f"Rank plot of the group-level parameters ({model.name})"
        ),
    }


def _dataset_view(index: int, dataset: _Dataset, options: ReportOptions) -> dict[str, Any]:
    groups = dataset.groups
    return {
        "anchor": f"d{index}",
        "name": dataset.name,
        "cleaning": _cleaning(dataset.participants),
        "comparison": _comparison(dataset, options.figure_style()),
        "across_models": _across_models(dataset.models),
        "models": [
            _model_view(m, groups, options, f"d{index}m{j}") for j, m in enumerate(dataset.models)
        ],
    }


# --------------------------------------------------------------------------- entry points


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(title: str, datasets: Sequence[DatasetResults], options: ReportOptions) -> str:
    """Load every artifact and return the whole report as one HTML string."""
    loaded = _load(datasets)
    generated = options.generated_at or datetime.now(UTC).isoformat(timespec="seconds")
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            title=title,
            generated=generated,
            version=__version__,
            provenance=_provenance(loaded),
            legend=_settings_legend(loaded),
            datasets=[_dataset_view(i, d, options) for i, d in enumerate(loaded)],
        )
    )


def run_report(
    title: str,
    datasets: Sequence[DatasetResults],
    out_html: PathLike,
    options: ReportOptions | None = None,
) -> None:
    """Build the report and write it atomically (what the Snakemake script calls)."""
    write_text(build_report(title, datasets, options or ReportOptions()), out_html)
