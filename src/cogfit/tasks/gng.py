"""The orthogonalised go/no-go task and a plain-NumPy simulator of ``gng_m1``..``gng_m4``.

The task (Guitart-Masip et al. 2012): four cues, shown in a shuffled order with equal
counts, cross the correct action (go: press; no-go: withhold) with the valence of the
outcome (win: reward or nothing; avoid: nothing or punishment). The correct action earns
the better outcome with probability ``p_correct`` (0.8 in the paper), the wrong one with
``1 - p_correct``. Cues in cogfit's cleaned coding (0-based): 0 = go to win, 1 = go to
avoid losing, 2 = no-go to win, 3 = no-go to avoid losing.

Deliberately independent of the JAX models (:mod:`cogfit.models.gng`): recovery proves
nothing if one implementation both simulates and fits. The semantics both follow:

* ``Q(go, s)``, ``Q(nogo, s)`` and ``V(s)`` start at 0 for every cue ``s``;
* ``W(go) = Q(go, s) + b + pi * V(s)``, ``W(nogo) = Q(nogo, s)``;
  ``p(go) = (1 - xi) * sigmoid(W(go) - W(nogo)) + xi / 2``;
* after outcome ``r``: ``Q(a, s) += ep * (rho * r - Q(a, s))`` for the action taken and
  ``V(s) += ep * (rho * r - V(s))``, where ``rho`` is ``rhoRew`` for ``r > 0`` and
  ``rhoPun`` for ``r < 0`` in ``gng_m4``; a missed trial has no response, no outcome and
  no update.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.gng_spec import SPECS
from cogfit.tasks import common

#: model name -> its parameters, from the specs (plain data: no JAX here)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
N_CUES = 4
#: per cue (0-based): is going the correct action, and is it a win cue
GO_CUE = np.array([True, True, False, False])
WIN_CUE = np.array([True, False, True, False])
#: the model and population (unconstrained scale: mean, sd) of :func:`example`'s data
EXAMPLE_MODEL = "gng_m3"
EXAMPLE_POPULATION = {
    "xi": (-2.0, 0.2),
    "ep": (-1.0, 0.2),
    "b": (0.6, 0.4),
    "pi": (0.4, 0.3),
    "rho": (1.5, 0.2),
}
#: each parameter (its link), from the specs
PARAMS = {p.name: p for spec in SPECS for p in spec.params}


def natural(name: str, x: np.ndarray) -> np.ndarray:
    """A parameter's value from its unconstrained one (the specs' links)."""
    return common.natural_value(PARAMS[name], x)


def kernel_params(model: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Any variant's parameters in the general form ``xi, ep, rho_rew, rho_pun, b, pi``
    (absent biases are 0, one ``rho`` serves both outcomes)."""
    p = common.checked_params(model, params, MODEL_PARAMS, as_array=np.asarray, one_dim=True)
    zeros = np.zeros_like(p["xi"])
    return {
        "xi": p["xi"],
        "ep": p["ep"],
        "rho_rew": p.get("rho", p.get("rhoRew")),
        "rho_pun": p.get("rho", p.get("rhoPun")),
        "b": p.get("b", zeros),
        "pi": p.get("pi", zeros),
    }


def cue_schedule(n_participants: int, n_trials: int, rng: np.random.Generator) -> np.ndarray:
    """[P, T] cues (0-based): each participant's own shuffle of equal counts per cue."""
    base = np.arange(n_trials) % N_CUES
    return np.stack([rng.permutation(base) for _ in range(n_participants)])


def task_outcome(
    cue: np.ndarray, pressed: np.ndarray, u: np.ndarray, p_correct: float
) -> np.ndarray:
    """The outcome (1, 0 or -1) of pressing or not on ``cue``, given uniform draws ``u``."""
    correct = np.where(GO_CUE[cue], pressed == 1, pressed == 0)
    better = u < np.where(correct, p_correct, 1.0 - p_correct)
    return np.where(WIN_CUE[cue], np.where(better, 1.0, 0.0), np.where(better, 0.0, -1.0))


def p_go(
    q_go: np.ndarray, q_nogo: np.ndarray, values: np.ndarray, kp: dict[str, np.ndarray]
) -> np.ndarray:
    """The lapse-mixed probability of going, per participant, for the cue's values."""
    diff = q_go + kp["b"] + kp["pi"] * values - q_nogo
    return (1.0 - kp["xi"]) / (1.0 + np.exp(-diff)) + kp["xi"] / 2.0


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 240,
    p_correct: float = 0.8,
    missing_prob: float = 0.0,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` on the task: ``cue`` (0-based), ``pressed`` (0/1; 0 where missed),
    ``outcome`` (0 where missed) and ``valid`` [P, T], and ``p_go`` [P, T], the model's
    probability of going on each trial given the simulated history."""
    kp = kernel_params(model, params)
    n_p = kp["xi"].shape[0]
    cues = cue_schedule(n_p, n_trials, rng)
    valid = rng.random((n_p, n_trials)) >= missing_prob
    q_go, q_nogo, values = (np.zeros((n_p, N_CUES)) for _ in range(3))
    pressed = np.zeros((n_p, n_trials), dtype=np.int64)
    outcome = np.zeros((n_p, n_trials))
    prob = np.zeros((n_p, n_trials))
    rows = np.arange(n_p)
    for t in range(n_trials):
        s, ok = cues[:, t], valid[:, t]
        prob[:, t] = p_go(q_go[rows, s], q_nogo[rows, s], values[rows, s], kp)
        go = common.bernoulli(prob[:, t], rng)
        r = task_outcome(s, go, rng.random(n_p), p_correct)
        pressed[:, t] = np.where(ok, go, 0)
        outcome[:, t] = np.where(ok, r, 0.0)
        target = np.where(r > 0, kp["rho_rew"], kp["rho_pun"]) * r
        rate = np.where(ok, kp["ep"], 0.0)
        taken = np.where(go == 1, q_go[rows, s], q_nogo[rows, s])
        learnt = taken + rate * (target - taken)
        q_go[rows, s] = np.where(go == 1, learnt, q_go[rows, s])
        q_nogo[rows, s] = np.where(go == 0, learnt, q_nogo[rows, s])
        values[rows, s] += rate * (target - values[rows, s])
    return {"cue": cues, "pressed": pressed, "outcome": outcome, "valid": valid, "p_go": prob}


def population_draws(
    population: dict[str, tuple[float, float]], n_participants: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Participants' values of the go/no-go parameters in ``population`` ({name: (mean,
    sd)} on the unconstrained scale): ``link(mean + sd * z)`` with ``z`` standardised
    over the participants (:func:`~cogfit.tasks.common.draw_natural`)."""
    params = [PARAMS[name] for name in population]
    return common.draw_natural(params, population, n_participants, rng, standardise=True)


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small raw dataset simulated from ``gng_m3`` (20 participants x 240 trials, 60 per
    cue) as a user's file has it (cues 1-4, ``pressed`` 0/1, ``outcome`` 1/0/-1), and the
    true participant parameters."""
    rng = np.random.default_rng(seed)
    n_participants, n_trials = 20, 240
    ids = common.participant_ids(n_participants)
    params = population_draws(EXAMPLE_POPULATION, n_participants, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_trials)
    columns = {
        "cue": sim["cue"].ravel() + 1,
        "pressed": sim["pressed"].ravel(),
        "outcome": sim["outcome"].ravel().astype(int),
    }
    names = MODEL_PARAMS[EXAMPLE_MODEL]
    truth = common.truth_table(ids, {k: params[k] for k in names})
    return common.raw_trials(ids, n_trials, columns), truth
