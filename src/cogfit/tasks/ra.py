"""Risk-aversion task (Sokol-Hessner et al. 2009): a trial design and a plain-NumPy
simulator of the ra models.

Independent of the JAX model code (:mod:`cogfit.models.ra`). Its semantics:

* mixed trials: a 50/50 gamble to win ``gain`` or lose ``loss`` against ``cert = 0``;
  gain-only trials: win ``gain`` or nothing (``loss = 0``) against a sure ``cert > 0``;
* utilities: ``U_gamble = 0.5 gain^rho - 0.5 lambda |loss|^rho``, ``U_cert = cert^rho``
  (``lambda = 1`` in ra_noLA, ``rho = 1`` in ra_noRA);
  ``p(gamble) = 1 / (1 + exp(-tau (U_gamble - U_cert)))``;
* ``gamble ~ Bernoulli(p(gamble))`` (1 = gambled); a missed trial (probability
  ``missing_prob``) has no response (``valid`` False, ``gamble`` 0).

Losses are stored as positive magnitudes, as the spec allows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.ra_spec import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.tasks import common
from cogfit.tasks.common import group_params as group_params  # importable here too

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
#: the share of mixed (gain/loss) trials; the rest are gain-only against a sure amount
MIXED_SHARE = 0.7
#: the example's model and its true group means (probit scale) and sds
EXAMPLE_MODEL = "ra_prospect"
EXAMPLE_MU = {"rho": -0.15, "lambda": -0.35, "tau": -1.4}
EXAMPLE_SD = {"rho": 0.2, "lambda": 0.2, "tau": 0.2}


def design(n_participants: int, n_trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Gambles [P, T]: mixed ones (gain 2-12, loss 0.25-2 times the gain, cert 0) and
    gain-only ones (gain 4-24 or nothing, against a sure 10-70% of the gain)."""
    shape = (n_participants, n_trials)
    mixed = rng.random(shape) < MIXED_SHARE
    gain_mixed = np.round(rng.uniform(2.0, 12.0, shape), 1)
    loss = np.round(gain_mixed * rng.uniform(0.25, 2.0, shape), 1)
    gain_only = np.round(rng.uniform(4.0, 24.0, shape), 1)
    cert = np.round(gain_only * rng.uniform(0.1, 0.7, shape), 1)
    return {
        "gain": np.where(mixed, gain_mixed, gain_only),
        "loss": np.where(mixed, loss, 0.0),
        "cert": np.where(mixed, 0.0, cert),
    }


def utilities(
    model: str, trials: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``(U_gamble, U_cert)`` [P, T] of every trial (sure amounts of 0 or more)."""
    common.model_names(model, MODEL_PARAMS, "ra")
    ones = np.ones_like(params["tau"])
    rho = params.get("rho", ones)[:, None]
    lam = params.get("lambda", ones)[:, None]
    gamble = 0.5 * trials["gain"] ** rho - 0.5 * lam * np.abs(trials["loss"]) ** rho
    return gamble, trials["cert"] ** rho


def gamble_probabilities(
    model: str, trials: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> np.ndarray:
    """p(gambling) of every trial, [P, T]."""
    gamble, cert = utilities(model, trials, params)
    return common.logistic(params["tau"][:, None] * (gamble - cert))


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 140,
    missing_prob: float = 0.02,
    trials: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate ``model``'s choices: ``gain``, ``loss``, ``cert``, ``gamble`` (int, 1 =
    gambled; 0 on missed trials), ``valid`` (bool) and ``probabilities`` (p(gamble)),
    [P, T] each. ``trials``: a design to use (default :func:`design` with ``n_trials``)."""
    params = common.checked_params(model, params, MODEL_PARAMS, family="ra")
    n_p = len(params["tau"])
    trials = design(n_p, n_trials, rng) if trials is None else dict(trials)
    probs = gamble_probabilities(model, trials, params)
    return common.one_shot_responses(trials, probs, "gamble", rng, missing_prob)


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small ra dataset as a user's raw file has it (``participant``, ``trial`` from 1,
    ``gain``, ``loss`` as a negative amount, ``cert``, ``gamble`` empty on missed trials)
    and the true participant parameters: 20 participants x 140 trials from ra_prospect."""
    rng = np.random.default_rng(seed)
    n_p, n_t = 20, 140
    params = group_params(MODELS[EXAMPLE_MODEL], EXAMPLE_MU, EXAMPLE_SD, n_p, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_t)
    names = common.participant_ids(n_p)
    columns = {
        "gain": sim["gain"].ravel(),
        "loss": (-sim["loss"]).ravel() + 0.0,  # + 0.0: no -0.0 in the file
        "cert": sim["cert"].ravel(),
        "gamble": common.int_cells(sim["gamble"], ~sim["valid"]),
    }
    return common.raw_trials(names, n_t, columns), common.truth_table(names, params)
