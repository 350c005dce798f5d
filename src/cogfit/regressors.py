"""Trial-wise regressors: a fit's model quantities on every trial, for model-based analyses.

For each participant and trial of the cleaned table the fit was made from, the model is run
along the participant's OBSERVED history and gives its latents (``model.latent_names``:
for the delta-rule family the values before the trial, the chosen option's value and the
prediction error) and its choice probabilities, under two estimates:

* ``posterior_mean``: each quantity's mean over ``regressors.draws`` posterior draws
  (evenly thinned within chains), accumulated in float64;
* ``median_parameters``: each quantity computed once at the posterior median of every
  participant-level parameter (natural scale, over the same draws).

Memory: draws are read from the posterior a chunk at a time (:mod:`cogfit.trialwise`) and
only the per-trial sums are kept; the medians are taken one parameter and one block of
participants at a time (at most ``budget`` draw x participant cells), so nothing with one
row per draw outlives its chunk.

``regressors.parquet`` has one row per participant, trial and estimate (the
``posterior_mean`` rows first, each block in the cleaned table's order) and the columns

* ``participant``, ``group``, ``trial`` (the RAW trial number), ``block`` (when the data
  have one), ``choice`` (0-based, <NA> when missed), ``outcome``, ``missed``: as in the
  cleaned table;
* ``estimate``: ``posterior_mean`` or ``median_parameters``;
* one float column per latent; a latent with one value per option becomes ``{name}_{k}``
  for k = 0..K-1;
* ``p_choice``: the probability of the observed choice; ``p_option_{k}``: of option k.

Missed trials: the model says nothing about which latents need the trial's choice and
outcome, so one rule holds for every model: every latent and ``p_choice`` are NaN on a
missed trial, and the ``p_option_{k}`` (the prediction from the history before it) are kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cogfit.chunks import CELL_BUDGET
from cogfit.data import TaskData
from cogfit.fitted import COLUMN, ROW, aligned_trials, load_fit, read_trials
from cogfit.io import write_parquet
from cogfit.models import BehaviouralModel
from cogfit.settings import settings_from_section
from cogfit.trialwise import Draws, PosteriorDraws, as_draws, fit_precision, output_chunks

LOG = logging.getLogger("cogfit.regressors")
ESTIMATES = ("posterior_mean", "median_parameters")


@dataclass(frozen=True)
class RegressorSettings:
    """The config's ``regressors`` section (defaults: the schema's)."""

    draws: int = 1000

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> RegressorSettings:
        """From the ``regressors`` mapping, checked against its schema."""
        return settings_from_section(cls, "regressors", cfg)


def regressor_table(
    model: BehaviouralModel,
    data: TaskData,
    rows: pd.DataFrame,
    draws: Draws | Mapping[str, np.ndarray],
    budget: int = CELL_BUDGET,
) -> pd.DataFrame:
    """The regressors of the aligned trials ``rows`` (:func:`aligned_trials`) under both
    estimates (see the module docstring); ``draws``: :class:`cogfit.trialwise.Draws` or
    [D, P] per parameter."""
    mean, median = _estimates(model, data, as_draws(draws), budget)
    blocks = [
        _block_rows(rows, name, values, model, data.columns)
        for name, values in (("posterior_mean", mean), ("median_parameters", median))
    ]
    return pd.concat(blocks, ignore_index=True)


def _estimates(
    model: BehaviouralModel,
    data: TaskData,
    draws: Draws,
    budget: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Posterior means and the values at the median parameters of every output [P, T, ...]
    (``probs`` in place of ``log_probs``). The median parameters run as one extra draw
    after the others, through the same compiled program."""
    n_draws = draws.n_draws
    median = {k: median_parameter(draws, k, budget) for k in draws.names}
    sums: dict[str, np.ndarray] = {}
    at_median: dict[str, np.ndarray] = {}
    extended = WithMedian(draws, median)
    for part, out in output_chunks(model, data, extended, budget=budget):
        out = _with_probabilities(out)
        real = slice(0, max(0, min(part.stop, n_draws) - part.start))
        for key, value in out.items():
            total = value[real].sum(axis=0, dtype=np.float64)
            sums[key] = sums.get(key, 0.0) + total
            if part.stop > n_draws:  # the median draw is this chunk's last
                at_median[key] = value[-1].astype(np.float64)
    return {k: v / n_draws for k, v in sums.items()}, at_median


def median_parameter(draws: Draws, name: str, budget: int = CELL_BUDGET) -> np.ndarray:
    """Each participant's median of parameter ``name`` over the draws [P] (float64), a
    block of participants at a time, at most ``budget`` draw x participant cells each."""
    step = max(1, budget // max(1, draws.n_draws))
    blocks = [
        np.median(np.asarray(draws.columns(name, slice(p, p + step)), dtype=float), axis=0)
        for p in range(0, draws.n_participants, step)
    ]
    return np.concatenate(blocks)


class WithMedian:
    """:class:`cogfit.trialwise.Draws` of ``draws`` (as float64) followed by one more
    draw, the ``median`` [P] of each parameter."""

    def __init__(self, draws: Draws, median: Mapping[str, np.ndarray]) -> None:
        self.draws, self.median = draws, median
        self.names, self.n_participants = draws.names, draws.n_participants
        self.n_draws = draws.n_draws + 1

    def take(self, part: slice) -> dict[str, np.ndarray]:
        """The draws ``part``; the last, when it is in ``part``, the medians."""
        real = slice(part.start, min(part.stop, self.draws.n_draws))
        chunk = {k: np.asarray(v, dtype=float) for k, v in self.draws.take(real).items()}
        if part.stop > self.draws.n_draws:
            chunk = {k: np.concatenate([v, self.median[k][None]]) for k, v in chunk.items()}
        return chunk

    def columns(self, name: str, participants: slice) -> np.ndarray:
        """Every draw of ``name`` for the ``participants``, the median last, [D + 1, p]."""
        real = np.asarray(self.draws.columns(name, participants), dtype=float)
        return np.concatenate([real, self.median[name][None, participants]])


def _with_probabilities(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outputs with the option probabilities (float64) in place of their logs."""
    out = dict(out)
    out["probs"] = np.exp(out.pop("log_probs").astype(np.float64))
    return out


def _block_rows(
    rows: pd.DataFrame,
    estimate: str,
    values: dict[str, np.ndarray],
    model: BehaviouralModel,
    trial_columns: Sequence[str],
) -> pd.DataFrame:
    """One estimate's rows: the trial columns, then the latents (in the model's order),
    ``p_choice`` and ``p_option_k`` (of the primary response)."""
    in_table = [c for c in rows.columns if c in trial_columns]  # the cleaned table's order
    keys = ("participant", "group", "trial", "block", *in_table, "missed")
    keep = [c for c in keys if c in rows]
    table = rows[keep].copy()
    table["estimate"] = estimate
    r, c = rows[ROW].to_numpy(), rows[COLUMN].to_numpy()
    missed = rows["missed"].to_numpy(dtype=bool)
    columns: dict[str, np.ndarray] = {}
    for name in model.latent_names:
        at = values[name][r, c]
        if at.ndim == 1:
            columns[name] = np.where(missed, np.nan, at)
        else:
            for k in range(at.shape[1]):
                columns[f"{name}_{k}"] = np.where(missed, np.nan, at[:, k])
    probs = values["probs"][r, c]
    response = rows[model.responses[0]].to_numpy(dtype=float, na_value=np.nan)
    absent = missed | np.isnan(response)
    chosen = np.where(absent, 0, np.nan_to_num(response)).astype(int)
    columns["p_choice"] = np.where(absent, np.nan, probs[np.arange(len(rows)), chosen])
    for k in range(probs.shape[-1]):
        columns[f"p_option_{k}"] = probs[:, k]
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(columns)], axis=1)


def run_regressors(
    posterior_path: str | os.PathLike[str],
    trials_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    settings: RegressorSettings,
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """Read a fit and its cleaned trials, compute the regressors, write them atomically."""
    from cogfit.runtime import precision

    fit = load_fit(posterior_path)
    rows = aligned_trials(fit.data, read_trials(trials_path), str(trials_path))
    draws = PosteriorDraws(fit, settings.draws)
    log.info(
        "%s: regressors of %d participants x %d trials over %d draws",
        fit.model.name,
        fit.data.n_participants,
        fit.data.n_trials,
        draws.n_draws,
    )
    with precision(fit_precision(fit)):
        table = regressor_table(fit.model, fit.data, rows, draws)
    write_parquet(table, out_path)
    log.info("wrote %d rows to %s", len(table), out_path)
    return table
