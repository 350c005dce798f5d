"""Convergence diagnostics: a tidy summary, a pass/fail check table and group-level plots.

A posterior is only worth reading when the sampler converged, so every fit passes through
:func:`run_diagnose`, which turns ``posterior.nc`` into ``summary.parquet`` (one row per
scalar parameter), ``diagnostics.parquet`` (one row per check) and trace/rank PNGs.
The statistics themselves come from ArviZ; this module only decides what to compute,
how to label it and what counts as a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import MatplotlibDeprecationWarning

from cogfit.errors import CogfitError
from cogfit.io import save_figure, write_parquet
from cogfit.names import LEVELS, PARAMETERS_ATTR, recorded_parameters, variable_roles
from cogfit.schema import section_defaults, validate_section
from cogfit.settings import settings_from_section

matplotlib.use("Agg")  # this module only ever writes image files, never opens windows

PathLike = str | os.PathLike[str]
T = TypeVar("T")

DEFAULT_MAX_TREE_DEPTH = 10
_LAYOUT = {"layout": "constrained"}  # ArviZ titles overlap the axes below without it
SUMMARY_COLUMNS = [
    "variable",
    "parameter",
    "level",
    "group",
    "participant",
    "label",
    "mean",
    "sd",
    "hdi_low",
    "hdi_high",
    "mcse_mean",
    "mcse_sd",
    "ess_bulk",
    "ess_tail",
    "r_hat",
    "hdi_prob",
]
CHECK_COLUMNS = ["check", "scope", "value", "threshold", "rule", "passed", "worst"]

log_ = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    """What counts as converged: the config's ``diagnostics`` section but ``hdi_prob`` and
    ``on_fail`` (arguments of :func:`run_diagnose`). The defaults, those of the schema
    (a test keeps them equal), follow Vehtari et al. (2021) and Stan's advice."""

    rhat_max: float = 1.01
    ess_bulk_min: float = 400.0
    ess_tail_min: float = 400.0
    max_divergences: int = 0
    max_treedepth_fraction: float = 0.01
    ebfmi_min: float = 0.3

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> Thresholds:
        """From the config's ``diagnostics`` mapping, checked against its schema (limits,
        unknown keys); missing keys take the schema's defaults."""
        return settings_from_section(cls, "diagnostics", cfg)


# --------------------------------------------------------------------------- summary


def parameter_names(posterior: xr.Dataset) -> list[str]:
    """Behavioural parameters as the fit step recorded them in the posterior's attributes."""
    parameters = recorded_parameters(posterior.attrs)
    if not parameters:
        raise CogfitError(
            f"the posterior has no {PARAMETERS_ATTR!r} attribute naming its parameters; "
            "was it written by the cogfit fit step?"
        )
    return parameters


def classify_variable(variable: str, parameters: list[str]) -> tuple[str, str]:
    """``alpha_pos_mu`` -> ("alpha_pos", "group"), by looking the name up among the sites
    of ``parameters`` (:func:`cogfit.names.variable_roles`); another variable is a group one."""
    return _classify(variable, variable_roles(parameters))


def _classify(variable: str, roles: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    if variable not in roles:
        return variable, "group"
    parameter, role = roles[variable]
    return parameter, LEVELS[role]


def _variable_rows(
    variable: str, stats: xr.DataArray, roles: Mapping[str, tuple[str, str]]
) -> pd.DataFrame:
    """One row per scalar of one variable, labelled the way ArviZ labels it."""
    cell_dims = [d for d in stats.dims if d != "metric"]
    coords = [[str(c) for c in stats[d].values] for d in cell_dims]
    cells = list(itertools.product(*coords))
    values = stats.transpose(*cell_dims, "metric").values.reshape(len(cells), -1)
    table = pd.DataFrame(values, columns=[str(m) for m in stats["metric"].values])
    parameter, level = _classify(variable, roles)
    table.insert(0, "variable", variable)
    table.insert(1, "parameter", parameter)
    table.insert(2, "level", level)
    for pos, dim in enumerate(["group", "participant"], start=3):
        table.insert(pos, dim, _coord_column(cells, cell_dims, dim))
    labels = [f"{variable}[{', '.join(c)}]" if c else variable for c in cells]
    table.insert(5, "label", labels)
    return table


def _coord_column(cells: list[tuple[str, ...]], dims: list[str], dim: str) -> list[str | None]:
    if dim not in dims:
        return [None] * len(cells)
    return [cell[dims.index(dim)] for cell in cells]


def summarise(idata: az.InferenceData, hdi_prob: float | None = None) -> pd.DataFrame:
    """Tidy per-scalar summary of every posterior variable (ArviZ does the statistics);
    ``hdi_prob`` is held to the schema's limits of ``diagnostics.hdi_prob`` (None: its
    default)."""
    if hdi_prob is None:
        hdi_prob = section_defaults("diagnostics")["hdi_prob"]
    validate_section(("diagnostics", "hdi_prob"), hdi_prob)
    posterior = idata.posterior
    stats = az.summary(idata, fmt="xarray", hdi_prob=hdi_prob)
    stats = stats.assign_coords(metric=_metric_names([str(m) for m in stats["metric"].values]))
    roles = variable_roles(parameter_names(posterior))
    parts = [_variable_rows(str(v), stats[v], roles) for v in posterior.data_vars]
    table = pd.concat(parts, ignore_index=True)
    table["hdi_prob"] = float(hdi_prob)
    return table[SUMMARY_COLUMNS]


def _metric_names(metrics: list[str]) -> list[str]:
    """ArviZ names the HDI columns after the probability (hdi_3%, hdi_97%); fixed names are
    easier. Renamed by position: for a tiny probability both read ``hdi_50%``."""
    hdi = iter(["hdi_low", "hdi_high"])
    return [next(hdi) if m.startswith("hdi_") else m for m in metrics]


# --------------------------------------------------------------------------- checks


def _row(
    check: str, scope: str, value: float, threshold: float, upper: bool, worst: str = ""
) -> dict[str, Any]:
    """One check row; ``upper`` means the value must stay at or below the threshold."""
    passed = bool(value <= threshold if upper else value >= threshold)  # NaN never passes
    rule = f"{'≤' if upper else '≥'} {threshold:g}"
    return {
        "check": check,
        "scope": scope,
        "value": float(value),
        "threshold": float(threshold),
        "rule": rule,
        "passed": passed,
        "worst": worst,
    }


def _extreme_row(
    summary: pd.DataFrame, column: str, threshold: float, upper: bool
) -> dict[str, Any]:
    """Check the worst parameter of a column; a NaN statistic counts as the worst of all."""
    values = summary[column].to_numpy(dtype=float)
    if len(values) == 0:
        return _row(column, "all", math.nan, threshold, upper)
    nan = np.isnan(values)
    if nan.any():
        idx = int(np.argmax(nan))
    else:
        idx = int(np.argmax(values) if upper else np.argmin(values))
    return _row(column, "all", values[idx], threshold, upper, str(summary["label"].iloc[idx]))


def _sample_stat(idata: az.InferenceData, name: str) -> xr.DataArray:
    stats = getattr(idata, "sample_stats", None)
    if stats is None or name not in stats:
        raise CogfitError(
            f"the posterior has no sample_stats.{name}; was it written by the cogfit fit step?"
        )
    return stats[name]


def _per_chain_rows(
    check: str, per_chain: xr.DataArray, total: float | None, threshold: float, upper: bool
) -> list[dict[str, Any]]:
    """Rows ``chain 0``, ``chain 1``, ... (and ``all`` when a total makes sense)."""
    rows = [
        _row(check, f"chain {chain}", float(value), threshold, upper)
        for chain, value in zip(per_chain["chain"].values, per_chain.values, strict=True)
    ]
    if total is not None:
        rows.append(_row(check, "all", total, threshold, upper))
    return rows


def max_tree_depth(idata: az.InferenceData) -> int:
    """The sampler's depth limit as the fit recorded it (NumPyro's default otherwise)."""
    value = idata.posterior.attrs.get("max_tree_depth", DEFAULT_MAX_TREE_DEPTH)
    return int(value)


def _sampler_rows(idata: az.InferenceData, thresholds: Thresholds) -> list[dict[str, Any]]:
    diverging = _sample_stat(idata, "diverging").astype(bool)
    n_div = diverging.sum("draw")
    rows = _per_chain_rows(
        "divergences", n_div, float(n_div.sum()), thresholds.max_divergences, upper=True
    )
    saturated = _sample_stat(idata, "tree_depth") >= max_tree_depth(idata)
    rows += _per_chain_rows(
        "treedepth_saturation",
        saturated.mean("draw"),
        float(saturated.mean()),
        thresholds.max_treedepth_fraction,
        upper=True,
    )
    energy = _sample_stat(idata, "energy")
    ebfmi = xr.DataArray(np.asarray(az.bfmi(idata), dtype=float), coords={"chain": energy["chain"]})
    rows += _per_chain_rows("ebfmi", ebfmi, None, thresholds.ebfmi_min, upper=False)
    return rows


def check(
    idata: az.InferenceData, thresholds: Thresholds, summary: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per check, plus a final ``overall`` row; pass ``summary`` to avoid recomputing."""
    if summary is None:
        summary = summarise(idata)
    rows = [
        _extreme_row(summary, "r_hat", thresholds.rhat_max, upper=True),
        _extreme_row(summary, "ess_bulk", thresholds.ess_bulk_min, upper=False),
        _extreme_row(summary, "ess_tail", thresholds.ess_tail_min, upper=False),
        *_sampler_rows(idata, thresholds),
    ]
    table = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    failed = failed_checks(table)
    overall = _row("overall", "all", float(len(failed)), 0.0, True, "; ".join(failed))
    overall["rule"] = "every check passes"
    return pd.concat([table, pd.DataFrame([overall])], ignore_index=True)


def failed_checks(table: pd.DataFrame) -> list[str]:
    """Human-readable failures, e.g. ``divergences (chain 1) = 5 (rule ≤ 0)``."""
    failed = table[~table["passed"].astype(bool) & (table["check"] != "overall")]
    return [
        f"{r.check} ({r.scope}) = {r.value:.5g} (rule {r.rule}"
        + (f"; worst {r.worst})" if r.worst else ")")
        for r in failed.itertuples()
    ]


# --------------------------------------------------------------------------- plots


def group_variables(idata: az.InferenceData) -> list[str]:
    """Group-level variables: everything that is not per participant (mu, sigma, mu_natural)."""
    posterior = idata.posterior
    return [str(v) for v in posterior.data_vars if "participant" not in posterior[v].dims]


def _n_panels(idata: az.InferenceData, variables: list[str]) -> int:
    posterior = idata.posterior
    sizes = [math.prod(posterior[v].shape[2:]) for v in variables]
    return max(1, sum(sizes))


@contextlib.contextmanager
def _arviz_plotting(n_panels: int) -> Iterator[None]:
    """Let ArviZ draw every panel and keep its Matplotlib deprecation noise out of the logs."""
    with warnings.catch_warnings(), az.rc_context(rc={"plot.max_subplots": n_panels}):
        warnings.filterwarnings("ignore", category=MatplotlibDeprecationWarning)
        yield


def plot_group_traces(idata: az.InferenceData, path: PathLike, dpi: int = 110) -> None:
    """Trace plot of the group-level parameters: chains should overlap like fuzzy caterpillars."""
    variables = group_variables(idata)
    with _arviz_plotting(2 * _n_panels(idata, variables)):
        axes = az.plot_trace(
            idata, var_names=variables, compact=True, legend=True, backend_kwargs=_LAYOUT
        )
    save_figure(np.ravel(axes)[0].figure, path, dpi=dpi)


def plot_group_ranks(idata: az.InferenceData, path: PathLike, dpi: int = 110) -> None:
    """Rank plot of the group-level parameters: flat histograms mean the chains agree."""
    variables = group_variables(idata)
    with _arviz_plotting(_n_panels(idata, variables)):
        axes = az.plot_rank(idata, var_names=variables, backend_kwargs=_LAYOUT)
    save_figure(np.ravel(axes)[0].figure, path, dpi=dpi)


# --------------------------------------------------------------------------- rule entry


def run_diagnose(
    posterior_path: PathLike,
    summary_path: PathLike,
    diagnostics_path: PathLike,
    trace_path: PathLike,
    rank_path: PathLike,
    thresholds: Thresholds,
    hdi_prob: float,
    on_fail: str,
    log: logging.Logger | None = None,
) -> bool:
    """Write summary, plots and checks for one fit; True when every check passed.

    ``on_fail="error"`` raises :class:`CogfitError` before the diagnostics table is written,
    so the Snakemake job fails; ``"warn"`` logs a warning and returns False.
    """
    validate_section(("diagnostics", "on_fail"), on_fail)
    log = log or log_
    idata = az.from_netcdf(str(posterior_path))
    what = _describe_fit(idata)
    summary = summarise(idata, hdi_prob=hdi_prob)
    write_parquet(summary, summary_path)
    plot_group_traces(idata, trace_path)
    plot_group_ranks(idata, rank_path)
    table = check(idata, thresholds, summary=summary)
    failed = failed_checks(table)
    message = f"diagnostics FAILED for {what}: {len(failed)} check(s) failed: " + "; ".join(failed)
    if failed and on_fail == "error":
        raise CogfitError(
            message + ". Fix the sampler settings (more warmup/draws, higher target_accept) "
            "or set diagnostics on_fail to 'warn' to keep the results anyway."
        )
    write_parquet(table, diagnostics_path)
    if failed:
        log.warning("%s", message)
        return False
    log.info("diagnostics PASSED for %s: all %d checks passed", what, len(table) - 1)
    return True


def _describe_fit(idata: az.InferenceData) -> str:
    attrs = idata.posterior.attrs
    return f"model {attrs.get('model', '?')!r} on dataset {attrs.get('dataset', '?')!r}"
