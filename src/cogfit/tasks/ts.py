"""The two-step task (Daw, Gershman, Seymour, Dayan & Dolan 2011, Neuron 69:1204-1215):
its environment and a plain-NumPy simulator of the ts models.

Independent of the JAX kernel (:mod:`cogfit.models.ts`); both follow the same semantics:

* the first choice ``c1`` (0 or 1) leads to state ``c1`` with probability 0.7 (common),
  else to the other state; the second choice picks one of the reached state's two
  options, numbered state-major (state ``s`` holds options ``2s`` and ``2s + 1``);
* each of the four options pays 1 with its own probability, a Gaussian random walk (sd
  0.025 per trial) reflected at 0.25 and 0.75;
* ``P(c1) = softmax(beta1 (w Q_MB + (1 - w) Q1) + pi rep)``, ``P(c2 | s) = softmax(beta2
  Q2)`` over the state's options; ``delta1 = Q2[c2] - Q1[c1]``, ``delta2 = r - Q2[c2]``,
  ``Q1[c1] += a1 (delta1 + lambda delta2)``, ``Q2[c2] += a2 delta2`` (lambda = 1 in
  ts_par4 and ts_par6; ts_par4 uses ``a``, ``beta`` for both stages);
* a missed first choice (probability ``miss_first``) is a missed trial: no state, no
  learning; a missed second choice (``miss_second``) leaves the trial with a first choice
  only: ``rep`` then refers to it, but nothing else is learned.

The cleaned coding of the returned columns: options 0-based, -1 where empty; rewards
0.0/1.0, NaN where empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.ts_spec import SPECS
from cogfit.tasks import common

#: model name -> its parameters, from the specs (plain data; no JAX here)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
_SPECS = {spec.name: spec for spec in SPECS}
#: the common transition's probability, from first-stage option k to state k
COMMON = 0.7
#: the reward probabilities' random walk: its sd per trial and reflecting bounds
DRIFT_SD = 0.025
BOUNDS = (0.25, 0.75)
MISSING = -1  # option code of an empty cell

#: the example data's generating group parameters, on the raw (probit/log) scale: the
#: mean ``mu`` and sd ``sigma`` of each parameter of ``EXAMPLE_MODEL`` across participants
EXAMPLE_MODEL = "ts_par4"
EXAMPLE_GROUP: dict[str, tuple[float, float]] = {
    "a": (0.0, 0.25),
    "beta": (1.4, 0.2),
    "pi": (-0.9, 0.25),
    "w": (0.0, 0.3),
}


def natural_params(model: str, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw-scale values -> natural ones through each parameter's default link."""
    return {p.name: common.natural_value(p, raw[p.name]) for p in _SPECS[model].params}


def sample_params(
    model: str,
    group: dict[str, tuple[float, float]],
    n_participants: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Participants' natural-scale parameters: ``link(mu + sigma z)``, ``z ~ N(0, 1)``."""
    return common.draw_natural(_SPECS[model].params, group, n_participants, rng)


def reward_walks(n_participants: int, n_trials: int, rng: np.random.Generator) -> np.ndarray:
    """[P, T, 4] reward probabilities of the four second-stage options: independent
    Gaussian random walks reflected at :data:`BOUNDS`, started uniformly within them."""
    low, high = BOUNDS
    probs = np.empty((n_participants, n_trials, 4))
    p = rng.uniform(low, high, (n_participants, 4))
    for t in range(n_trials):
        probs[:, t] = p
        p = p + DRIFT_SD * rng.standard_normal(p.shape)
        p = np.where(p > high, 2 * high - p, p)  # reflect at the bounds
        p = np.where(p < low, 2 * low - p, p)
    return probs


def _standard(model: str, params: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Any variant's parameters as (a1, beta1, a2, beta2, pi, w, lambda) arrays [P]."""
    p = common.checked_params(model, params, MODEL_PARAMS)
    ones = np.ones_like(p["pi"])
    a1, beta1 = p.get("a1", p.get("a")), p.get("beta1", p.get("beta"))
    a2, beta2 = p.get("a2", p.get("a")), p.get("beta2", p.get("beta"))
    return a1, beta1, a2, beta2, p["pi"], p["w"], p.get("lambda", ones)


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 200,
    miss_first: float = 0.02,
    miss_second: float = 0.02,
    reward_probs: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` for P participants (``params``: natural-scale arrays [P]).

    Returns [P, T] arrays ``choice1``, ``choice2`` (int, -1 where empty), ``reward``
    (float, NaN where empty), ``valid`` (a first choice), ``has_choice2``, ``has_reward``,
    ``state`` (the state reached, -1 on a missed trial) and ``common`` (a common
    transition), plus the choice rule's probabilities given the history: ``p_choice1``
    [P, T, 2] and ``p_choice2`` [P, T, 4] (of the reached state's options; 0 elsewhere and
    on missed trials), and ``reward_probs`` [P, T, 4].
    """
    a1, beta1, a2, beta2, pi, w, lam = _standard(model, params)
    n_p = a1.shape[0]
    if reward_probs is None:
        reward_probs = reward_walks(n_p, n_trials, rng)
    rows = np.arange(n_p)
    q1, q2, last = np.zeros((n_p, 2)), np.zeros((n_p, 4)), np.zeros((n_p, 2))
    out = {
        "choice1": np.full((n_p, n_trials), MISSING),
        "choice2": np.full((n_p, n_trials), MISSING),
        "reward": np.full((n_p, n_trials), np.nan),
        "state": np.full((n_p, n_trials), MISSING),
        "common": np.zeros((n_p, n_trials), dtype=bool),
        "p_choice1": np.zeros((n_p, n_trials, 2)),
        "p_choice2": np.zeros((n_p, n_trials, 4)),
    }
    for t in range(n_trials):
        best = np.stack([q2[:, :2].max(axis=1), q2[:, 2:].max(axis=1)], axis=1)  # [P, 2]
        q_mb = COMMON * best + (1.0 - COMMON) * best[:, ::-1]
        q_net = w[:, None] * q_mb + (1.0 - w[:, None]) * q1
        p1 = common.softmax(beta1[:, None] * q_net + pi[:, None] * last)
        out["p_choice1"][:, t] = p1
        c1 = common.bernoulli(p1[:, 1], rng)
        answered = rng.random(n_p) >= miss_first
        is_common = rng.random(n_p) < COMMON
        state = np.where(is_common, c1, 1 - c1)
        options = 2 * state[:, None] + np.arange(2)  # [P, 2] the reached state's options
        p2 = common.softmax(beta2[:, None] * q2[rows[:, None], options])
        c2 = options[rows, common.bernoulli(p2[:, 1], rng)]
        second = answered & (rng.random(n_p) >= miss_second)
        r = (rng.random(n_p) < reward_probs[rows, t, c2]).astype(float)

        out["p_choice2"][rows[answered, None], t, options[answered]] = p2[answered]
        out["choice1"][:, t] = np.where(answered, c1, MISSING)
        out["state"][:, t] = np.where(answered, state, MISSING)
        out["common"][:, t] = answered & is_common
        out["choice2"][:, t] = np.where(second, c2, MISSING)
        out["reward"][:, t] = np.where(second, r, np.nan)

        # SARSA(lambda) on complete trials; the last first choice on answered ones
        delta1 = q2[rows, c2] - q1[rows, c1]
        delta2 = r - q2[rows, c2]
        q1[rows, c1] += np.where(second, a1 * (delta1 + lam * delta2), 0.0)
        q2[rows, c2] += np.where(second, a2 * delta2, 0.0)
        last = np.where(answered[:, None], np.eye(2)[c1], last)
    out["valid"] = out["choice1"] >= 0
    out["has_choice2"] = out["choice2"] >= 0
    out["has_reward"] = ~np.isnan(out["reward"])
    out["reward_probs"] = reward_probs
    return out


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small two-step dataset as a user's raw file has it, and the true parameters.

    20 participants x 200 trials simulated from :data:`EXAMPLE_MODEL` with group
    parameters :data:`EXAMPLE_GROUP`. The trial table has ``participant``, ``trial``
    (1..200), ``choice1`` (1, 2), ``choice2`` (1..4, hBayesDM's level2_choice coding) and
    ``reward`` (0, 1): a missed first choice leaves all three empty, a missed second
    choice the last two. The parameter table has ``participant`` and one column per
    parameter (natural scale).
    """
    rng = np.random.default_rng(seed)
    n_participants, n_trials = 20, 200
    params = sample_params(EXAMPLE_MODEL, EXAMPLE_GROUP, n_participants, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_trials)
    names = common.participant_ids(n_participants, prefix="s")
    columns = {  # options numbered from 1
        "choice1": common.int_cells(sim["choice1"] + 1, sim["choice1"] < 0),
        "choice2": common.int_cells(sim["choice2"] + 1, sim["choice2"] < 0),
        "reward": common.int_cells(sim["reward"], ~sim["has_reward"]),
    }
    return common.raw_trials(names, n_trials, columns), common.truth_table(names, params)
