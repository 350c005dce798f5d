"""The probabilistic reversal learning task and a plain-NumPy simulator of the prl models.

The task: two options; in each block one of them is the good one, rewarded (+1) with
probability ``p_reward`` (a loss, -1, otherwise), the other with ``1 - p_reward``; after
a run of ``run_length`` trials (drawn anew for each run) the contingency reverses. Each
block starts with a random good option, and the learner's values start afresh.

The simulator is NumPy only and independent of the JAX models (:mod:`cogfit.models.prl`):
data simulated and fitted by one implementation would prove nothing. Its semantics, per
participant, with ``r`` the outcome and ``c`` / ``u`` the chosen / unchosen option:

* values (and EWA's experience weights) start at 0 at the start of each block;
* ``P(option 1) = 1 / (1 + exp(-beta * (V[0] - V[1] - alpha)))`` (``alpha = 0`` without
  an indecision point: the two-option softmax of ``beta * V``);
* fictitious models: ``V[c] += eta * (r - V[c])`` and ``V[u] += eta * (-r - V[u])``, with
  ``eta = eta_pos`` when ``r - V[c] >= 0`` else ``eta_neg`` for the ``_rp`` variants;
* ``prl_rp``: ``V[c] += (Arew if r > 0 else Apun) * (r - V[c])``;
* ``prl_ewa``: ``N[c]' = rho * N[c] + 1``, ``V[c]' = (phi * N[c] * V[c] + r) / N[c]'``;
* a missed trial has no choice and no outcome and changes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.prl_spec import SPECS
from cogfit.tasks import common
from cogfit.tasks.common import phi as phi  # the standard normal CDF, importable here too

#: model name -> its parameters (each an array [P]), from the specs (plain data)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
#: the model, design and group parameters :func:`example` simulates
EXAMPLE_MODEL = "prl_fictitious"
EXAMPLE_PARTICIPANTS = 20
EXAMPLE_BLOCKS = 3
EXAMPLE_TRIALS_PER_BLOCK = 60
#: group means (eta, beta: probit scale; alpha: natural) and between-participant sds
EXAMPLE_MU = {"eta": -0.5, "alpha": 0.3, "beta": -0.4}
EXAMPLE_SD = {"eta": 0.25, "alpha": 0.3, "beta": 0.2}


def reversal_schedule(
    rng: np.random.Generator,
    n_participants: int,
    n_blocks: int = 3,
    trials_per_block: int = 60,
    run_length: tuple[int, int] = (10, 20),
) -> tuple[np.ndarray, np.ndarray]:
    """Which option is the good one on each trial, and the block of each trial (0-based),
    both int [P, T]: a random good option at each block start, reversed after runs of
    ``run_length`` trials (uniform between the two bounds, inclusive)."""
    low, high = run_length
    if not 1 <= low <= high:
        raise ValueError(f"run_length must be 1 <= low <= high, got {run_length}")
    n_t = n_blocks * trials_per_block
    good = np.zeros((n_participants, n_t), dtype=np.int64)
    for p in range(n_participants):
        for b in range(n_blocks):
            option, t, end = int(rng.integers(2)), b * trials_per_block, (b + 1) * trials_per_block
            while t < end:
                run = int(rng.integers(low, high + 1))
                good[p, t : min(t + run, end)] = option
                option, t = 1 - option, t + run
    block = np.broadcast_to(np.arange(n_t) // trials_per_block, (n_participants, n_t))
    return good, block.copy()


def _check_params(model: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's parameters as float arrays [P], in range."""
    arrays = common.checked_params(model, params, MODEL_PARAMS, one_dim=True)
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
        if name not in ("alpha", "beta") and not np.all((a >= 0) & (a <= 1)):
            raise ValueError(f"{name} must lie in [0, 1]")
    return arrays


def p_first(values: np.ndarray, beta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """P(option 0) [P] from values [P, 2]: the sigmoid of ``beta * (V0 - V1 - alpha)``."""
    return common.logistic(beta * (values[:, 0] - values[:, 1] - alpha))


def _learn(
    model: str,
    p: dict[str, np.ndarray],
    values: np.ndarray,
    weights: np.ndarray,
    choice: np.ndarray,
    outcome: np.ndarray,
    learns: np.ndarray,
) -> None:
    """Update values [P, 2] (and EWA's weights) in place where ``learns`` [P]."""
    rows = np.flatnonzero(learns)
    c, r = choice[rows], outcome[rows]
    u = 1 - c
    v_c, v_u = values[rows, c], values[rows, u]
    if model == "prl_ewa":
        n_c = weights[rows, c]
        weights[rows, c] = p["rho"][rows] * n_c + 1.0
        values[rows, c] = (p["phi"][rows] * n_c * v_c + r) / weights[rows, c]
        return
    if model == "prl_rp":
        rate = np.where(r > 0, p["Arew"][rows], p["Apun"][rows])
        values[rows, c] = v_c + rate * (r - v_c)
        return
    if "eta" in p:
        rate = p["eta"][rows]
    else:
        rate = np.where(r - v_c >= 0, p["eta_pos"][rows], p["eta_neg"][rows])
    values[rows, c] = v_c + rate * (r - v_c)
    values[rows, u] = v_u + rate * (-r - v_u)


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_blocks: int = 3,
    trials_per_block: int = 60,
    p_reward: float = 0.7,
    run_length: tuple[int, int] = (10, 20),
    missing_prob: float = 0.0,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` with participant parameters ``params`` ({name: [P]}) on the
    reversal task: [P, T] arrays ``choice`` (0-based; 0 where missed), ``outcome``
    (+1.0 / -1.0; 0 where missed), ``valid`` (answered), ``block`` (0-based),
    ``block_start`` (the first trial of each block after the first), ``good_option``,
    and ``probabilities`` [P, T, 2], the model's choice probabilities given the state
    before each trial."""
    p = _check_params(model, params)
    n_p = p["beta"].shape[0]
    good, block = reversal_schedule(rng, n_p, n_blocks, trials_per_block, run_length)
    n_t = good.shape[1]
    alpha = p.get("alpha", np.zeros(n_p))
    choice = np.zeros((n_p, n_t), dtype=np.int64)
    outcome = np.zeros((n_p, n_t))
    probabilities = np.zeros((n_p, n_t, 2))
    valid = rng.random((n_p, n_t)) >= missing_prob
    block_start = np.zeros((n_p, n_t), dtype=bool)
    block_start[:, trials_per_block::trials_per_block] = True
    values, weights = np.zeros((n_p, 2)), np.zeros((n_p, 2))
    for t in range(n_t):
        if t % trials_per_block == 0:
            values[:], weights[:] = 0.0, 0.0
        first = p_first(values, p["beta"], alpha)
        probabilities[:, t] = np.stack([first, 1.0 - first], axis=1)
        c = (rng.random(n_p) >= first).astype(np.int64)
        p_win = np.where(c == good[:, t], p_reward, 1.0 - p_reward)
        r = np.where(rng.random(n_p) < p_win, 1.0, -1.0)
        choice[:, t] = np.where(valid[:, t], c, 0)
        outcome[:, t] = np.where(valid[:, t], r, 0.0)
        _learn(model, p, values, weights, c, r, valid[:, t])
    return {
        "choice": choice,
        "outcome": outcome,
        "valid": valid,
        "block": block,
        "block_start": block_start,
        "good_option": good,
        "probabilities": probabilities,
    }


def true_parameters(rng: np.random.Generator, n: int = EXAMPLE_PARTICIPANTS) -> pd.DataFrame:
    """Participant parameters of :data:`EXAMPLE_MODEL` around :data:`EXAMPLE_MU`."""
    spec = next(spec for spec in SPECS if spec.name == EXAMPLE_MODEL)
    return common.truth_table(
        common.participant_ids(n), common.group_params(spec, EXAMPLE_MU, EXAMPLE_SD, n, rng)
    )


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small example dataset in the raw layout hBayesDM's prl files have (options 1
    and 2, outcome 1 = reward / -1 = loss, a ``block`` column, empty cells on missed
    trials), simulated from :data:`EXAMPLE_MODEL`; and the true participant parameters."""
    rng = np.random.default_rng(seed)
    truth = true_parameters(rng)
    params = {k: truth[k].to_numpy() for k in MODEL_PARAMS[EXAMPLE_MODEL]}
    sim = simulate(
        EXAMPLE_MODEL,
        params,
        rng,
        n_blocks=EXAMPLE_BLOCKS,
        trials_per_block=EXAMPLE_TRIALS_PER_BLOCK,
        missing_prob=0.02,
    )
    missed = ~sim["valid"]
    columns = {
        "block": sim["block"].ravel() + 1,
        "choice": common.int_cells(sim["choice"] + 1, missed),
        "outcome": common.int_cells(sim["outcome"], missed),
    }
    return common.raw_trials(truth["participant"], sim["choice"].shape[1], columns), truth
