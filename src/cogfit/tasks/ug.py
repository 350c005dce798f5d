"""Norm-training ultimatum game (Xiang et al. 2013; Gu et al. 2015): an offer schedule and a
plain-NumPy simulator of the ug models.

Independent of the JAX model code (:mod:`cogfit.models.ug`). Its semantics:

* offers are out of 20; the schedule runs in phases of low and of high offers, so the
  norm has something to adapt to;
* ug_delta: the norm starts at ``f = 10``; offer ``x`` is judged against ``f``, then an
  answered trial moves it, ``f += ep (x - f)``;
* ug_bayes: the norm is a posterior mean, ``mu = 10`` with count ``k = 4`` at first; offer
  ``x`` is judged against ``mu + (x - mu) / (k + 1)``, which an answered trial then keeps
  (with ``k + 1``);
* ``U = x - alpha max(f - x, 0) - beta max(x - f, 0)`` (no ``beta`` in ug_delta),
  ``p(accept) = 1 / (1 + exp(-tau U))``, ``accept ~ Bernoulli(p)`` (1 = accepted);
* a missed trial (probability ``missing_prob``) has no response (``valid`` False,
  ``accept`` 0) and teaches nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.spec import ModelSpec
from cogfit.models.ug_spec import SPECS
from cogfit.tasks import common
from cogfit.tasks.common import group_params as group_params  # importable here too

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
#: the norm before the first offer, and the Bayesian observer's prior count behind it
NORM_0, COUNT_0 = 10.0, 4.0
#: the mean offers of the low and the high phases, and the offers' sd within a phase
LOW, HIGH, SPREAD = 4.0, 9.0, 1.5
#: the example's model and its true group means (probit scale) and sds
EXAMPLE_MODEL = "ug_delta"
EXAMPLE_MU = {"alpha": -1.6, "tau": -1.3, "ep": -0.7}
EXAMPLE_SD = {"alpha": 0.2, "tau": 0.2, "ep": 0.2}


def schedule(
    n_participants: int, n_trials: int, rng: np.random.Generator, n_phases: int = 3
) -> dict[str, np.ndarray]:
    """Offers [P, T] (whole amounts 1-15 of 20) in ``n_phases`` equal phases alternating
    low and high mean offers, starting with either at random."""
    phase = np.minimum(np.arange(n_trials) * n_phases // n_trials, n_phases - 1)
    start_high = rng.random(n_participants) < 0.5
    high = (phase[None, :] + start_high[:, None]) % 2 == 1
    mean = np.where(high, HIGH, LOW)
    offers = np.round(mean + SPREAD * rng.standard_normal((n_participants, n_trials)))
    return {"offer": np.clip(offers, 1.0, 15.0)}


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 90,
    missing_prob: float = 0.02,
    trials: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate ``model``'s responses: ``offer``, ``accept`` (int, 1 = accepted; 0 on
    missed trials), ``valid`` (bool), ``probabilities`` (p(accept)) and ``norm`` (the norm
    before each trial), [P, T] each. ``trials``: offers to use (default :func:`schedule`
    with ``n_trials``)."""
    params = common.checked_params(model, params, MODEL_PARAMS, family="ug")
    n_p = len(params["tau"])
    offers = (schedule(n_p, n_trials, rng) if trials is None else dict(trials))["offer"]
    offers = np.asarray(offers, dtype=float)
    n_t = offers.shape[1]
    valid = rng.random(offers.shape) >= missing_prob
    accept = np.zeros(offers.shape, dtype=np.int64)
    probs, norms = np.zeros(offers.shape), np.zeros(offers.shape)
    alpha, tau = params["alpha"], params["tau"]
    beta = params.get("beta", np.zeros_like(tau))
    norm = np.full(n_p, NORM_0)
    count = np.full(n_p, COUNT_0)
    for t in range(n_t):
        x = offers[:, t]
        norms[:, t] = norm
        # the Bayesian observer judges the offer against the mean that includes it
        judged = norm + (x - norm) / (count + 1.0) if model == "ug_bayes" else norm
        utility = x - alpha * np.maximum(judged - x, 0.0) - beta * np.maximum(x - judged, 0.0)
        probs[:, t] = common.logistic(tau * utility)
        accept[:, t] = np.where(valid[:, t], common.bernoulli(probs[:, t], rng), 0)
        if model == "ug_bayes":
            norm = np.where(valid[:, t], judged, norm)
            count = np.where(valid[:, t], count + 1.0, count)
        else:
            norm = np.where(valid[:, t], norm + params["ep"] * (x - norm), norm)
    return {
        "offer": offers,
        "accept": accept,
        "valid": valid,
        "probabilities": probs,
        "norm": norms,
    }


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small ug dataset as a user's raw file has it (``participant``, ``trial`` from 1,
    ``offer``, ``accept`` empty on missed trials) and the true participant parameters:
    20 participants x 90 trials from ug_delta."""
    rng = np.random.default_rng(seed)
    n_p, n_t = 20, 90
    params = group_params(MODELS[EXAMPLE_MODEL], EXAMPLE_MU, EXAMPLE_SD, n_p, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_t)
    names = common.participant_ids(n_p)
    columns = {
        "offer": sim["offer"].ravel(),
        "accept": common.int_cells(sim["accept"], ~sim["valid"]),
    }
    return common.raw_trials(names, n_t, columns), common.truth_table(names, params)
