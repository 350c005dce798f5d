"""Posterior predictive checks: choices simulated from the posterior, against the observed.

For each of ``ppc.draws`` posterior draws (evenly thinned within chains) the model is run
along every participant's OBSERVED history, and one choice is drawn on every valid trial
from the model's option probabilities there: the one-step-ahead replicate ``y_rep`` of
hBayesDM's ``y_pred`` (Ahn, Haines & Zhang 2017, Comput. Psychiatry 1:24-57). Draws are by
inverse CDF: with ``u = np.random.default_rng(seed).random((D, P, T))`` (draw-major, then
participant in the fit's order, then trial position; one uniform per cell, padding and
missed cells included, unused there), the choice of cell ``(d, p, t)`` is the number of
options whose cumulative probability (in option order) lies below ``u[d, p, t]``, at most
K - 1. A plain-NumPy simulator with the same parameters and seed reproduces the choices.

Summaries, observed against predicted (each predicted statistic is computed per draw, then
summarised by its mean and central ``ppc.interval`` interval over draws, the interval's
ends as ``np.quantile``'s default ``linear`` method gives them):

* ``learning_curve``: the proportion of valid trials on which a best option was chosen,
  per group, block and bin of trial position. The best options are
  :func:`cogfit.clean.best_options`' from the OBSERVED data (highest mean observed outcome
  when chosen by that participant, within the block; ties all best), the same for both.
  Positions count every trial (missed ones too) from 1 within the participant's block;
  a block of at most L positions (over participants) is cut into ``ppc.bins`` equal bins,
  position x falling into bin ``floor((x - 1) * bins / L)``. With a ``block`` column there
  are rows per block and rows with block ``all`` that pool each bin over blocks (the mean
  curve after each block's start, e.g. after each reversal); without one, only ``all``
  (positions within the session).
* ``stay``: the probability of choosing the option chosen on the participant's previous
  valid trial (any block), after a ``better`` (previous outcome above the mean outcome of
  all valid trials of the data) or a ``worse`` (below it) one, per group; trials whose
  previous outcome equals that mean, and first valid trials, count in neither. A predicted
  choice is compared with the OBSERVED previous choice (the prediction is one step ahead).
* ``participant``: per participant, the observed and predicted proportion of best choices
  and the posterior predictive p-value of the discrepancy ``T(y, theta) = log p(y |
  theta)``, ``p = Pr(T(y_rep, theta) <= T(y_obs, theta))`` over draws (Gelman, Meng & Stern
  1996, Stat. Sin. 6:733-807). Flagged as not reproduced when ``p < ppc.p_value_min``.

``ppc.parquet``, one row per statistic and cell, has the columns

* ``statistic``: ``learning_curve``, ``stay`` or ``participant``;
* ``group``; ``block`` (text; ``all`` where pooled or without blocks);
* ``bin`` (0-based; -1 when n/a), ``trial_low``, ``trial_high`` (the bin's first and last
  position within the block, 1-based, over the blocks it pools; NaN when n/a);
* ``condition``: ``better``, ``worse`` or "" (n/a); ``participant``: the id, or "";
* ``n``: valid trials counted (the statistic's denominator, the same for observed and
  predicted); ``observed``; ``predicted_mean``, ``predicted_low``, ``predicted_high``: the
  predicted statistic's mean and central interval over draws; ``interval``: its probability;
* ``p_value``: NaN unless ``participant``;
* ``flagged``: for a participant, ``p_value < ppc.p_value_min``; for the other rows, the
  observed value lies outside the predicted interval.

Memory: draws are read and replicated a chunk at a time (:mod:`cogfit.trialwise`), and
per participant only fixed-size tallies are kept: the count of draws for the p-value, the
running sum of the predicted proportions (in draw order, so the mean is ``np.mean``'s),
and an int32 histogram [P, T + 1] of the draws' hit counts, whose order statistics give
the interval exactly (a hit count k of n valid trials is the proportion k / n). The
group-level cells (learning-curve bins, stays: groups x blocks x bins, a few hundred at
most) keep their counts per draw, [draws, cells] float64: 8 bytes per draw and cell,
independent of the number of participants.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cogfit.chunks import CELL_BUDGET
from cogfit.clean import bandit_view, best_keys, best_options
from cogfit.data import TaskData
from cogfit.fitted import COLUMN, ROW, aligned_trials, load_fit, read_trials
from cogfit.io import write_parquet
from cogfit.models import BehaviouralModel
from cogfit.names import PPC_COLUMNS, log_probs_key, observed_key
from cogfit.settings import settings_from_section
from cogfit.trialwise import (
    Draws,
    PosteriorDraws,
    as_draws,
    fit_precision,
    linear_quantile,
    output_chunks,
    quantile_positions,
)

LOG = logging.getLogger("cogfit.ppc")
ALL = "all"
COLUMNS = PPC_COLUMNS


@dataclass(frozen=True)
class PPCSettings:
    """The config's ``ppc`` section (defaults: the schema's)."""

    draws: int = 500
    bins: int = 10
    interval: float = 0.9
    p_value_min: float = 0.05

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> PPCSettings:
        """From the ``ppc`` mapping, checked against its schema."""
        return settings_from_section(cls, "ppc", cfg)


# --------------------------------------------------------------------------- replicates


def inverse_cdf(log_probs: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """One option per cell of ``log_probs`` [..., K]: how many cumulative probabilities
    (float64, option order) lie below the cell's uniform, at most K - 1."""
    cdf = np.cumsum(np.exp(log_probs.astype(np.float64)), axis=-1)
    below = (cdf < uniforms[..., None]).sum(axis=-1)
    return np.minimum(below, log_probs.shape[-1] - 1)


def scored(data: TaskData, response: str) -> np.ndarray:
    """bool [P, T]: the trials on which ``response`` was observed (and is scored)."""
    return data.mask & data.trials[observed_key(response)]


def replicate_chunks(
    model: BehaviouralModel,
    data: TaskData,
    draws: Draws | Mapping[str, np.ndarray],
    seed: int,
    budget: int = CELL_BUDGET,
) -> Iterator[tuple[slice, dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Per chunk of draws: ``(draws slice, {response: log_probs [n, P, T, K]}, {response:
    replicates [n, P, T]})``, each response simulated as the module docstring says (-1
    where it is not scored), the model's responses in order, one uniform array each."""
    rng = np.random.default_rng(seed)
    keys = {r: log_probs_key(model.responses, r) for r in model.responses}
    for part, out in output_chunks(model, data, draws, tuple(keys.values()), budget):
        log_probs, replicates = {}, {}
        for response, key in keys.items():
            log_probs[response] = out[key]
            uniforms = rng.random((part.stop - part.start, *data.mask.shape))
            drawn = inverse_cdf(out[key], uniforms)
            replicates[response] = np.where(scored(data, response), drawn, -1)
        yield part, log_probs, replicates


def predicted_choices(
    model: BehaviouralModel,
    data: TaskData,
    draws: Draws | Mapping[str, np.ndarray],
    seed: int,
    budget: int = CELL_BUDGET,
) -> np.ndarray:
    """Every draw's simulated primary responses [D, P, T] (-1 where not scored); for
    small data."""
    chunks = replicate_chunks(model, data, draws, seed, budget)
    return np.concatenate([replicates[model.responses[0]] for _, _, replicates in chunks])


def responses_log_lik(
    log_probs: Mapping[str, np.ndarray], responses: Mapping[str, np.ndarray], data: TaskData
) -> np.ndarray:
    """``log p(responses | theta)`` per draw and participant [n, P], summed over the
    responses where each is scored."""
    return sum(log_lik(log_probs[r], values, scored(data, r)) for r, values in responses.items())


def log_lik(log_probs: np.ndarray, choices: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``log p(choices | theta)`` per draw and participant [n, P], valid trials only."""
    index = np.broadcast_to(np.maximum(choices, 0), log_probs.shape[:-1])[..., None]
    picked = np.take_along_axis(log_probs, index, axis=-1)[..., 0]
    return np.where(mask, picked, 0.0).sum(axis=-1, dtype=np.float64)


# --------------------------------------------------------------------------- tallies


@dataclass(frozen=True)
class Tally:
    """One statistic's cells: where each trial counts, and which choices are hits there."""

    cells: np.ndarray  # int [P, T]: the cell a trial counts in; -1: none
    hits: np.ndarray  # bool [P, T, K]: choosing option k on the trial is a hit
    labels: pd.DataFrame  # one row per cell: its identifying columns of the table

    @property
    def n(self) -> np.ndarray:
        """Trials counted per cell."""
        return np.bincount(self.cells[self.cells >= 0], minlength=len(self.labels))

    def counts(self, choices: np.ndarray) -> np.ndarray:
        """Hits per draw and cell [n, cells] among ``choices`` [n, P, T]."""
        counted = self.cells >= 0
        n_draws, n_cells = choices.shape[0], len(self.labels)
        index = np.maximum(choices, 0)[..., None]
        hit = np.take_along_axis(self.hits[None], index, axis=-1)[..., 0][:, counted]
        cell = (np.arange(n_draws)[:, None] * n_cells + self.cells[counted][None]).ravel()
        totals = np.bincount(cell, weights=hit.ravel(), minlength=n_draws * n_cells)
        return totals.reshape(n_draws, n_cells)


def trial_positions(rows: pd.DataFrame, bins: int) -> pd.DataFrame:
    """``rows`` with ``block`` (text; ``all`` without blocks), ``position`` (1-based within
    the participant's block) and ``bin`` (see the module docstring)."""
    has_blocks = "block" in rows.columns
    by = ["participant", "block"] if has_blocks else ["participant"]
    position = rows.groupby(by, sort=False).cumcount().to_numpy() + 1
    block = rows["block"] if has_blocks else pd.Series(ALL, index=rows.index)
    length = pd.Series(position, index=rows.index).groupby(block).transform("max").to_numpy()
    return rows.assign(
        block_order=pd.factorize(block, sort=True)[0],
        block=block.astype(str),
        position=position,
        bin=(position - 1) * bins // length,
    )


def response_hits(shape: tuple[int, int]) -> np.ndarray:
    """bool [P, T, 2]: a binary response is a hit when it is 1."""
    hits = np.zeros((*shape, 2), dtype=bool)
    hits[..., 1] = True
    return hits


def best_hits(rows: pd.DataFrame, shape: tuple[int, int], n_options: int) -> np.ndarray:
    """bool [P, T, K]: option k is one of the participant's best in the trial's block."""
    best = best_options(rows)
    keys = rows[best_keys(rows)]
    hits = np.zeros((*shape, n_options), dtype=bool)
    for k in range(n_options):
        chosen = pd.MultiIndex.from_frame(keys.assign(choice=k))
        hits[rows[ROW], rows[COLUMN], k] = chosen.isin(best)
    return hits


def _cells(frame: pd.DataFrame, keys: list[str], counted: np.ndarray, shape: tuple) -> tuple:
    """Cells of ``frame``'s rows grouped by ``keys`` (sorted): the cell array (rows not
    ``counted`` in none) and the groupby."""
    grouped = frame.groupby(keys, sort=True)
    cells = np.full(shape, -1, dtype=np.int64)
    ids = grouped.ngroup().to_numpy()
    cells[frame[ROW].to_numpy()[counted], frame[COLUMN].to_numpy()[counted]] = ids[counted]
    return cells, grouped


def learning_curve_tallies(
    frame: pd.DataFrame, hits: np.ndarray, counted: np.ndarray, measure: str
) -> list[Tally]:
    """Per block (when the data have blocks) and pooled over blocks (``all``); ``counted``
    [rows]: the rows whose response is scored; ``measure``: the rows' ``condition``."""
    valid = counted
    pooled = frame.assign(block=ALL, block_order=0)
    sets = [pooled] if (frame["block"] == ALL).all() else [frame, pooled]
    tallies = []
    for rows in sets:
        keys = ["group", "block_order", "block", "bin"]
        cells, grouped = _cells(rows, keys, valid, hits.shape[:2])
        labels = grouped["position"].agg(trial_low="min", trial_high="max").reset_index()
        labels = labels.drop(columns="block_order").assign(
            statistic="learning_curve", condition=measure
        )
        tallies.append(Tally(cells, hits, labels))
    return tallies


def stay_tally(
    rows: pd.DataFrame, shape: tuple[int, int], n_options: int, counted: np.ndarray
) -> Tally:
    """Stays after a better and after a worse previous outcome, per group; ``rows`` a
    :func:`cogfit.clean.bandit_view`, ``counted`` [rows] the rows whose response is
    scored."""
    valid = rows[counted]
    previous = valid.groupby("participant", sort=False)[["choice", "outcome"]].shift(1)
    mean = valid["outcome"].mean()
    outcome = previous["outcome"].to_numpy(dtype=float)
    condition = np.select([outcome > mean, outcome < mean], ["better", "worse"], "")
    counted = valid.assign(condition=condition, previous=previous["choice"])[condition != ""]
    cells, grouped = _cells(counted, ["group", "condition"], np.ones(len(counted), bool), shape)
    hits = np.zeros((*shape, n_options), dtype=bool)
    stayed = counted["previous"].to_numpy(dtype=np.int64)
    hits[counted[ROW], counted[COLUMN], stayed] = True
    labels = grouped.size().reset_index()[["group", "condition"]].assign(statistic="stay")
    return Tally(cells, hits, labels)


def participant_tally(data: TaskData, hits: np.ndarray, counted: np.ndarray, measure: str) -> Tally:
    """Each participant's proportion of hits (best choices, or 1 responses) on the
    ``counted`` [P, T] trials, in the fit's order."""
    cells = np.where(counted, np.arange(data.n_participants)[:, None], -1)
    labels = pd.DataFrame(
        {
            "participant": list(data.participants),
            "group": [data.groups[g] for g in data.group_index],
            "statistic": "participant",
            "condition": measure,
        }
    )
    return Tally(cells, hits, labels)


# --------------------------------------------------------------------------- the table


class PerDraw:
    """A tally's hit counts at every draw, [D, cells] float64: for the group-level cells,
    few whatever the number of participants; summarised by ``np.mean``/``np.quantile``."""

    def __init__(self, n_draws: int, n: np.ndarray) -> None:
        self.n = n
        self.counts = np.zeros((n_draws, len(n)))

    def add(self, part: slice, counts: np.ndarray) -> None:
        """The counts [n, cells] of the draws ``part``."""
        self.counts[part] = counts

    def summary(self, tails: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The predicted proportion's mean and quantiles ``tails`` over draws, per cell."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = self.counts / self.n
        if not len(rates):
            return rates.mean(axis=0), np.full(len(self.n), np.nan), np.full(len(self.n), np.nan)
        low, high = np.quantile(rates, tails, axis=0)
        return rates.mean(axis=0), low, high


class HitHistogram:
    """A tally's hit counts over draws in fixed size, for one cell per participant: how
    many draws had each count 0..max(n), int32 [cells, max(n) + 1], and the running sum of
    the proportions in draw order (the mean ``np.mean`` gives over two or more cells; for a
    single cell numpy sums pairwise, which may differ in the last bits)."""

    def __init__(self, n: np.ndarray) -> None:
        self.n = n
        self.histogram = np.zeros((len(n), int(n.max(initial=0)) + 1), dtype=np.int32)
        self.total = np.zeros(len(n))
        self.n_draws = 0

    def add(self, part: slice, counts: np.ndarray) -> None:
        """The counts [n, cells] of the draws ``part`` (the next ones in draw order)."""
        rows = np.arange(len(self.n))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = counts / self.n
        for hits, rate in zip(counts.astype(np.int64), rates, strict=True):
            self.histogram[rows, hits] += 1  # each cell once per draw: no repeated index
            self.total += rate
        self.n_draws += len(counts)

    def summary(self, tails: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mean and the ``tails`` quantiles over draws of the proportion, per cell;
        the quantiles bit-identical to ``np.quantile``'s on the per-draw proportions."""
        if self.n_draws == 0:
            nan = np.full(len(self.n), np.nan)
            return nan, nan, nan
        cumulative = np.cumsum(self.histogram, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ends = []
            for tail in tails:
                low, high, gamma = quantile_positions(self.n_draws, tail)
                previous, following = ((cumulative <= j).sum(axis=1) / self.n for j in (low, high))
                ends.append(linear_quantile(previous, following, gamma))
            return self.total / self.n_draws, ends[0], ends[1]


def ppc_table(
    model: BehaviouralModel,
    data: TaskData,
    rows: pd.DataFrame,
    draws: Draws | Mapping[str, np.ndarray],
    settings: PPCSettings,
    seed: int,
    budget: int = CELL_BUDGET,
) -> pd.DataFrame:
    """The checks of the aligned trials ``rows`` (:func:`cogfit.fitted.aligned_trials`)
    for ``draws`` (:class:`cogfit.trialwise.Draws` or [D, P] per parameter; see the module
    docstring)."""
    draws = as_draws(draws)
    frame = trial_positions(rows, settings.bins)
    primary = model.responses[0]
    tallies = task_tallies(model, data, frame)
    predicted: list[PerDraw | HitHistogram] = [PerDraw(draws.n_draws, t.n) for t in tallies[:-1]]
    predicted.append(HitHistogram(tallies[-1].n))
    below = np.zeros(data.n_participants)  # draws with T(y_rep) <= T(y_obs)
    seen = {r: data.trials[r] for r in model.responses}
    for part, log_probs, replicates in replicate_chunks(model, data, draws, seed, budget):
        for tally, summary in zip(tallies, predicted, strict=True):
            summary.add(part, tally.counts(replicates[primary]))
        replicated = responses_log_lik(log_probs, replicates, data)
        below += (replicated <= responses_log_lik(log_probs, seen, data)).sum(axis=0)
    observed_primary = np.where(scored(data, primary), seen[primary], -1)[None]
    observed = [t.counts(observed_primary)[0] for t in tallies]
    parts = [
        _summary(t, o, p, settings.interval)
        for t, o, p in zip(tallies, observed, predicted, strict=True)
    ]
    people = parts[-1]
    people["p_value"] = below / draws.n_draws
    people["flagged"] = people["p_value"] < settings.p_value_min
    return _tidy(pd.concat(parts, ignore_index=True))


def task_tallies(model: BehaviouralModel, data: TaskData, frame: pd.DataFrame) -> list[Tally]:
    """The statistics of the primary response, the participants' last: for an option
    with a payoff, a bandit's best choices and stays; for a binary response, the
    proportion of 1 responses (and stays, given a payoff)."""
    primary = model.responses[0]
    column = model.spec.column(primary)
    counted_cells = scored(data, primary)
    counted = counted_cells[frame[ROW].to_numpy(), frame[COLUMN].to_numpy()]
    shape = data.mask.shape
    bandit = bandit_view(frame, primary)
    if column.kind == "option" and bandit is not None:
        hits, measure = best_hits(bandit, shape, column.n_levels(data.n_options)), ""
    else:
        hits, measure = response_hits(shape), f"{primary} = 1"
    tallies = learning_curve_tallies(frame, hits, counted, measure)
    if bandit is not None:
        tallies.append(stay_tally(bandit, shape, hits.shape[-1], counted))
    return [*tallies, participant_tally(data, hits, counted_cells, measure)]


def _summary(
    tally: Tally, observed: np.ndarray, predicted: PerDraw | HitHistogram, interval: float
) -> pd.DataFrame:
    """A tally's rows: counts as proportions, the predicted summarised over draws."""
    n = tally.n
    with np.errstate(invalid="ignore", divide="ignore"):
        seen = observed / n
    mean, low, high = predicted.summary([(1 - interval) / 2, (1 + interval) / 2])
    return tally.labels.assign(
        n=n,
        observed=seen,
        predicted_mean=mean,
        predicted_low=low,
        predicted_high=high,
        interval=interval,
        p_value=np.nan,
        flagged=(seen < low) | (seen > high),
    )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The documented columns, n/a cells filled, in their order and types."""
    fill = {"block": ALL, "bin": -1, "condition": "", "participant": ""}
    for column in COLUMNS:
        if column not in table.columns:
            table[column] = fill.get(column, np.nan)
    table = table.fillna(fill)[list(COLUMNS)]
    return table.astype(
        {
            "bin": np.int64,
            "n": np.int64,
            "trial_low": float,
            "trial_high": float,
            "flagged": bool,
            **{c: str for c in ("statistic", "group", "block", "condition", "participant")},
        }
    )


def run_ppc(
    posterior_path: str | os.PathLike[str],
    trials_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    settings: PPCSettings,
    seed: int,
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """Read a fit and its cleaned trials, run the checks, write the table atomically and
    log the participants flagged as not reproduced."""
    from cogfit.runtime import precision

    fit = load_fit(posterior_path)
    rows = aligned_trials(fit.data, read_trials(trials_path), str(trials_path))
    draws = PosteriorDraws(fit, settings.draws)
    log.info(
        "%s: posterior predictive checks of %d participants x %d trials, %d draws",
        fit.model.name,
        fit.data.n_participants,
        fit.data.n_trials,
        draws.n_draws,
    )
    with precision(fit_precision(fit)):
        table = ppc_table(fit.model, fit.data, rows, draws, settings, seed)
    _log_flagged(table, settings, fit.model.name, log)
    write_parquet(table, out_path)
    return table


def _log_flagged(
    table: pd.DataFrame, settings: PPCSettings, model: str, log: logging.Logger
) -> None:
    """One warning per flagged participant, then how many."""
    people = table[table["statistic"] == "participant"]
    flagged = people[people["flagged"]]
    for row in flagged.itertuples():
        log.warning(
            "participant %r (%s): posterior predictive p = %.3f < %g: choices not reproduced by %s",
            row.participant,
            row.group,
            row.p_value,
            settings.p_value_min,
            model,
        )
    log.info("%d of %d participant(s) flagged", len(flagged), len(people))
