"""The probabilistic selection task and a plain-NumPy simulator of ``pst_Q`` and
``pst_gainloss_Q``.

The task (Frank et al. 2007): a training phase presents the pairs A/B, C/D and E/F
(hBayesDM's stimuli 1..6, pair codes 12, 34, 56) in a shuffled order with equal counts;
choosing a stimulus is rewarded (1, else 0) with its own probability, 0.8, 0.2, 0.7,
0.3, 0.6, 0.4 for stimuli 1..6. An optional test phase then presents every pair of two
distinct stimuli, in a random order of the two, without feedback. A pair is coded
``10 * first + second``; a choice is 1 when the first stimulus was chosen.

Deliberately independent of the JAX models (:mod:`cogfit.models.pst`). The semantics
both follow: every stimulus's value starts at 0; ``p(first) = sigmoid(beta * (Q[first] -
Q[second]))``; with feedback, ``delta = r - Q[c]`` and ``Q[c] += alpha * delta`` for the
chosen stimulus ``c`` only (``alpha = alpha_pos`` if ``delta >= 0`` else ``alpha_neg``);
without feedback (test phase) or response (a missed trial), nothing is learnt.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from cogfit.models.pst_spec import N_STIMULI, SPECS
from cogfit.tasks import common

#: model name -> its parameters, from the specs (plain data: no JAX here)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
#: each stimulus's (1..6) probability of a reward when chosen
REWARD_PROBS = np.array([0.8, 0.2, 0.7, 0.3, 0.6, 0.4])
TRAINING_PAIRS = (12, 34, 56)
#: every unordered pair of two distinct stimuli (the test phase), as "lower higher"
TEST_PAIRS = tuple(10 * a + b for a, b in itertools.combinations(range(1, N_STIMULI + 1), 2))
#: the model and population (unconstrained scale: mean, sd) of :func:`example`'s data
EXAMPLE_MODEL = "pst_gainloss_Q"
EXAMPLE_POPULATION = {"alpha_pos": (-0.4, 0.2), "alpha_neg": (-1.2, 0.2), "beta": (-0.3, 0.2)}
#: each parameter (its link and bound), from the specs
PARAMS = {p.name: p for spec in SPECS for p in spec.params}


def natural(name: str, x: np.ndarray) -> np.ndarray:
    """A parameter's value from its unconstrained one (the specs' links)."""
    return common.natural_value(PARAMS[name], x)


def kernel_params(model: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Either variant's parameters as ``alpha_pos, alpha_neg, beta`` (one rate twice)."""
    p = common.checked_params(model, params, MODEL_PARAMS, as_array=np.asarray, one_dim=True)
    return {
        "alpha_pos": p.get("alpha", p.get("alpha_pos")),
        "alpha_neg": p.get("alpha", p.get("alpha_neg")),
        "beta": p["beta"],
    }


def pair_schedule(
    n_participants: int,
    n_training: int,
    n_test_repeats: int,
    rng: np.random.Generator,
    swap_sides: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """[P, T] pair codes and whether each trial has feedback: per participant a shuffle
    of ``n_training`` training trials (equal counts of 12, 34, 56; each shown as 21, 43,
    65 with probability 1/2 when ``swap_sides``), then a shuffle of ``n_test_repeats``
    presentations of each of the 15 test pairs, each in a random order of its two."""
    train = np.array(TRAINING_PAIRS)[np.arange(n_training) % len(TRAINING_PAIRS)]
    test = np.repeat(np.array(TEST_PAIRS), n_test_repeats)
    rows = []
    for _ in range(n_participants):
        a = rng.permutation(train)
        if swap_sides:
            a = np.where(rng.random(a.size) < 0.5, _swapped(a), a)
        b = rng.permutation(test)
        b = np.where(rng.random(b.size) < 0.5, _swapped(b), b)
        rows.append(np.concatenate([a, b]))
    feedback = np.arange(n_training + test.size) < n_training
    feedback = np.broadcast_to(feedback, (n_participants, feedback.size))
    return np.stack(rows).astype(np.int64), feedback


def _swapped(pairs: np.ndarray) -> np.ndarray:
    """The pair codes with their two stimuli in the other order."""
    return 10 * (pairs % 10) + pairs // 10


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_training: int = 180,
    n_test_repeats: int = 0,
    missing_prob: float = 0.0,
    swap_sides: bool = False,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` on the task: ``pair`` (two-digit codes), ``choice`` (1 = the
    first stimulus; 0 where missed), ``reward`` (NaN without feedback or response),
    ``valid`` and ``has_reward`` [P, T], and ``p_first`` [P, T], the model's probability
    of choosing the first stimulus given the simulated history."""
    kp = kernel_params(model, params)
    n_p = kp["beta"].shape[0]
    pairs, feedback = pair_schedule(n_p, n_training, n_test_repeats, rng, swap_sides)
    n_t = pairs.shape[1]
    valid = rng.random((n_p, n_t)) >= missing_prob
    has_reward = valid & feedback
    values = np.zeros((n_p, N_STIMULI))
    choice = np.zeros((n_p, n_t), dtype=np.int64)
    reward = np.full((n_p, n_t), np.nan)
    prob = np.zeros((n_p, n_t))
    rows = np.arange(n_p)
    for t in range(n_t):
        first, second = pairs[:, t] // 10 - 1, pairs[:, t] % 10 - 1
        diff = values[rows, first] - values[rows, second]
        prob[:, t] = common.logistic(kp["beta"] * diff)
        picked_first = rng.random(n_p) < prob[:, t]
        chosen = np.where(picked_first, first, second)
        r = (rng.random(n_p) < REWARD_PROBS[chosen]).astype(float)
        choice[:, t] = np.where(valid[:, t], picked_first, 0)
        reward[:, t] = np.where(has_reward[:, t], r, np.nan)
        delta = r - values[rows, chosen]
        rate = np.where(delta >= 0, kp["alpha_pos"], kp["alpha_neg"])
        values[rows, chosen] += np.where(has_reward[:, t], rate * delta, 0.0)
    return {
        "pair": pairs,
        "choice": choice,
        "reward": reward,
        "valid": valid,
        "has_reward": has_reward,
        "p_first": prob,
    }


def population_draws(
    population: dict[str, tuple[float, float]], n_participants: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Participants' parameter values: ``link(mean + sd * z)`` for each parameter of
    ``population``, with ``z`` standardised over the participants, so the sample's mean
    on the unconstrained scale is the population's (see
    :func:`~cogfit.tasks.common.draw_natural`)."""
    params = [PARAMS[name] for name in population]
    return common.draw_natural(params, population, n_participants, rng, standardise=True)


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small raw dataset simulated from ``pst_gainloss_Q`` (20 participants x 180
    training trials, then 4 presentations of each of the 15 test pairs without feedback:
    ``reward`` empty; 2% missed trials with ``choice`` and ``reward`` empty) as a user's
    file has it (pair codes of stimuli 1..6, ``choice`` 1 = the first stimulus), and the
    true participant parameters."""
    rng = np.random.default_rng(seed)
    n_participants = 20
    ids = common.participant_ids(n_participants)
    params = population_draws(EXAMPLE_POPULATION, n_participants, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_training=180, n_test_repeats=4, missing_prob=0.02)
    columns = {
        "pair": sim["pair"].ravel(),
        "choice": common.int_cells(sim["choice"], ~sim["valid"]),
        "reward": common.int_cells(sim["reward"], ~sim["has_reward"]),
    }
    names = MODEL_PARAMS[EXAMPLE_MODEL]
    trials = common.raw_trials(ids, sim["pair"].shape[1], columns)
    return trials, common.truth_table(ids, {k: params[k] for k in names})
