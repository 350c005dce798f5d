"""A fit read back from its ``posterior.nc``: the model as fitted, the data it saw, draws.

Every analysis stage (model comparison, posterior predictive checks, regressors) starts
here, so none needs the config's priors or the cleaned table to know what was fitted: the
posterior's attributes record the model and the parameter specs used (priors included),
and its observed and constant data hold the padded arrays. Stages that report per raw
trial place the cleaned table on those arrays with :func:`aligned_trials`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cogfit.data import KEY_COLUMNS, TaskData
from cogfit.errors import DataError
from cogfit.models import BehaviouralModel, ParamSpec, get_model
from cogfit.names import VALID, observed_key, recorded_parameters, site_name

#: the columns :func:`aligned_trials` adds: the participant's row in the fit's arrays and
#: the trial's column (its position among the participant's trials)
ROW, COLUMN = "fit_row", "fit_column"


@dataclass(frozen=True)
class Fit:
    """One fit: ``model`` with the specs it was fitted with, its ``data`` and ``idata``."""

    model: BehaviouralModel
    data: TaskData
    idata: Any

    @property
    def n_draws(self) -> int:
        """Draws over all chains."""
        posterior = self.idata.posterior
        return int(posterior.sizes["chain"] * posterior.sizes["draw"])


def fitted_model(attrs: dict[str, Any]) -> BehaviouralModel:
    """The model named in ``attrs`` (built in, or from the user's file the fit recorded)
    with the parameter specs the fit used."""
    model = get_model(str(attrs.get("model_source") or attrs["model"]))
    specs = tuple(ParamSpec(**spec) for spec in json.loads(str(attrs["priors"])))
    if tuple(s.name for s in specs) != model.param_names:
        raise DataError(
            f"the fit of {model.name!r} recorded parameters {[s.name for s in specs]}, "
            f"but the model has {list(model.param_names)}: refit with this cogfit version"
        )
    model = model.with_params(specs)
    if "block_reset" in attrs:  # as the fit ran, whatever the dataset's setting now
        model = model.with_block_reset("always" if int(attrs["block_reset"]) else "never")
    return model


def fit_data(idata: Any) -> TaskData:
    """The padded arrays the fit saw, from its observed and constant data
    (:func:`cogfit.packaging.data_groups`)."""
    constant = {k: np.asarray(v.values) for k, v in idata.constant_data.items()}
    if VALID not in constant:
        raise DataError("the fit has no per-trial data of this cogfit version: refit it")
    trials = {k: constant.pop(k) for k in list(constant) if k not in ("block_start", "group_index")}
    for response, values in idata.observed_data.items():
        trials[response] = np.maximum(np.asarray(values.values), 0)
    for key, values in trials.items():
        masks = key == VALID or key.startswith("has_")
        integer = np.issubdtype(values.dtype, np.integer)
        trials[key] = values.astype(bool if masks else np.int32 if integer else np.float64)
    return TaskData(
        participants=tuple(str(p) for p in idata.posterior.coords["participant"].values),
        groups=tuple(str(g) for g in idata.posterior.coords["group"].values),
        group_index=constant["group_index"].astype(np.int32),
        trials=trials,
        block_start=constant["block_start"].astype(bool),
        n_options=int(idata.posterior.attrs["n_options"]),
    )


def load_fit(path: str | os.PathLike[str]) -> Fit:
    """Read ``posterior.nc`` back as a :class:`Fit`."""
    import arviz as az

    idata = az.from_netcdf(str(path))
    if recorded_parameters(idata.posterior.attrs) == []:
        raise DataError(f"{path}: not a cogfit posterior (no recorded parameters)")
    return Fit(fitted_model(dict(idata.posterior.attrs)), fit_data(idata), idata)


def draw_indices(n_chains: int, n_draws: int, keep: int) -> np.ndarray:
    """Evenly spaced draw indices within every chain, ``keep`` draws in all (every draw
    when ``keep`` is 0 or at least all of them); the same positions in each chain."""
    total = n_chains * n_draws
    if keep <= 0 or keep >= total:
        return np.arange(n_draws)
    per_chain = max(1, keep // n_chains)
    return np.unique(np.linspace(0, n_draws - 1, per_chain).round().astype(int))


def thinned(fit: Fit, variables: list[str], keep: int) -> dict[str, np.ndarray]:
    """The named posterior variables at :func:`draw_indices`, shaped [chain, draw, ...]."""
    posterior = fit.idata.posterior
    index = draw_indices(posterior.sizes["chain"], posterior.sizes["draw"], keep)
    return {v: np.asarray(posterior[v].isel(draw=index).values) for v in variables}


def group_draws(fit: Fit, keep: int = 0) -> dict[str, np.ndarray]:
    """Group means and sds on the unconstrained scale, ``{p}_mu``/``{p}_sigma`` [chain,
    draw, group]."""
    names = [site_name(p, r) for p in fit.model.param_names for r in ("mu", "sigma")]
    return thinned(fit, names, keep)


def read_trials(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The cleaned trial table, with the columns every analysis stage needs."""
    trials = pd.read_parquet(path)
    missing = [c for c in KEY_COLUMNS if c not in trials.columns]
    if missing:
        raise DataError(f"{path}: lacks column(s) {missing}; expected a cleaned trials table")
    return trials


def aligned_trials(data: TaskData, trials: pd.DataFrame, source: str = "trials") -> pd.DataFrame:
    """The cleaned table sorted by participant then trial, with :data:`ROW` and
    :data:`COLUMN` locating each row in the fit's padded arrays.

    A participant's k-th trial is column k of its row. The table must be the one the fit
    was made from: same participants and groups, and every trial valid or missed, with the
    same choice and outcome, as the fit saw it (one :class:`DataError` line otherwise).
    """
    rows = trials.assign(participant=trials["participant"].astype(str))
    rows = rows.sort_values(["participant", "trial"], kind="stable").reset_index(drop=True)
    _check_participants(data, rows, source)
    index = {p: i for i, p in enumerate(data.participants)}
    rows[ROW] = rows["participant"].map(index).to_numpy(dtype=np.int64)
    rows[COLUMN] = rows.groupby("participant", sort=False).cumcount().to_numpy(dtype=np.int64)
    _check_trials(data, rows, source)
    return rows


def _check_participants(data: TaskData, rows: pd.DataFrame, source: str) -> None:
    """Same participants, each in the same group, as the fit."""
    table = set(rows["participant"])
    fitted = set(data.participants)
    if table != fitted:
        extra, absent = sorted(table - fitted), sorted(fitted - table)
        raise DataError(
            f"{source}: participants differ from the fit's ({len(extra)} only in the table, "
            f"e.g. {extra[:1]}; {len(absent)} only in the fit, e.g. {absent[:1]}); expected "
            "the cleaned table the fit was made from"
        )
    fit_group = {
        p: data.groups[g] for p, g in zip(data.participants, data.group_index, strict=True)
    }
    group = rows.groupby("participant", sort=False)["group"].first().astype(str)
    for pid, label in group.items():
        if label != fit_group[pid]:
            raise DataError(
                f"{source}: participant {pid!r} is in group {label!r} but the fit has them in "
                f"{fit_group[pid]!r}; expected the cleaned table the fit was made from"
            )


def _check_trials(data: TaskData, rows: pd.DataFrame, source: str) -> None:
    """Each participant's trials, valid or missed, with every trial column as the fit saw it."""
    counts = rows.groupby("participant", sort=False).size()
    longest = counts.idxmax()
    if counts[longest] > data.n_trials:
        raise DataError(
            f"{source}: participant {longest!r} has {counts[longest]} trials but the fit has at "
            f"most {data.n_trials}; expected the cleaned table the fit was made from"
        )
    r, c = rows[ROW].to_numpy(), rows[COLUMN].to_numpy()
    valid = ~rows["missed"].to_numpy(dtype=bool)
    mask = np.zeros_like(data.mask)
    mask[r[valid], c[valid]] = True
    same = np.ones(len(rows), dtype=bool)
    for column in data.columns:
        if column not in rows:
            same[:] = False
            break
        table = rows[column].to_numpy(dtype=float, na_value=np.nan)
        has = data.trials[observed_key(column)][r, c]
        same &= has == ~np.isnan(table)
        fitted = data.trials[column][r, c].astype(float)
        same &= ~has | np.isclose(fitted, table, rtol=1e-6, atol=1e-6)
    wrong = (mask != data.mask).any(axis=1)
    wrong[r[valid & ~same]] = True
    if wrong.any():
        i = int(np.argmax(wrong))
        pid = data.participants[i]
        raise DataError(
            f"{source}: participant {pid!r}'s trials differ from the fit's (the table has "
            f"{int(mask[i].sum())} valid of {counts[pid]}, the fit {int(data.mask[i].sum())} "
            "valid, or their trial columns differ); expected the cleaned table the fit "
            "was made from"
        )
