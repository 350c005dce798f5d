"""Delay-discounting task: a trial design and a plain-NumPy simulator of the dd models.

Independent of the JAX model code (:mod:`cogfit.models.dd`), so a recovery test fits
data this code generated. Its semantics, the contract both follow:

* each trial offers ``amount_sooner`` after ``delay_sooner`` and a larger ``amount_later``
  after a longer ``delay_later``;
* the discount ``D(d)`` is ``exp(-r d)`` (dd_exp), ``1 / (1 + k d)`` (dd_hyperbolic) or
  ``exp(-(r d)^s)`` (dd_cs); ``p(later) = 1 / (1 + exp(-beta (A_l D(d_l) - A_s D(d_s))))``;
* ``choice ~ Bernoulli(p(later))`` (1 = later); a missed trial (probability
  ``missing_prob``) has no choice (``valid`` False, ``choice`` 0).

The design spans delays of a day to half a year and later/sooner ratios up to 4, so that
the indifference points of rates from about 0.002 to 0.3 per day fall inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.dd_spec import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.tasks import common
from cogfit.tasks.common import group_params as group_params  # importable here too

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
#: the delays (days) between the sooner and the later option
GAPS = np.array([1, 3, 7, 14, 30, 60, 90, 180], dtype=float)
#: the delays (days) of the sooner option: mostly now
SOONER_DELAYS = np.array([0, 0, 0, 0, 1, 7, 14], dtype=float)
#: the example's model and its true group means (probit scale) and sds
EXAMPLE_MODEL = "dd_hyperbolic"
EXAMPLE_MU = {"k": -1.9, "beta": -0.8}
EXAMPLE_SD = {"k": 0.25, "beta": 0.2}


def natural_values(spec: ModelSpec, unconstrained: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each parameter's natural-scale values from unconstrained ones, by the spec's link
    (the probit links these families use)."""
    return {p.name: common.natural_value(p, unconstrained[p.name]) for p in spec.params}


def design(n_participants: int, n_trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random sooner/later pairs, [P, T] each: sooner amounts 5-30, later amounts 1.05 to
    4 times them (log-uniform), later delays 1 to 180 days after the sooner ones."""
    shape = (n_participants, n_trials)
    delay_sooner = rng.choice(SOONER_DELAYS, shape)
    amount_sooner = np.round(rng.uniform(5.0, 30.0, shape), 1)
    ratio = np.exp(rng.uniform(np.log(1.05), np.log(4.0), shape))
    return {
        "delay_later": delay_sooner + rng.choice(GAPS, shape),
        "amount_later": np.round(amount_sooner * ratio, 1),
        "delay_sooner": delay_sooner,
        "amount_sooner": amount_sooner,
    }


def discount(model: str, delay: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """The model's discount factor of ``delay`` [P, T]; params [P] each."""
    if model == "dd_exp":
        return np.exp(-params["r"][:, None] * delay)
    if model == "dd_hyperbolic":
        return 1.0 / (1.0 + params["k"][:, None] * delay)
    if model == "dd_cs":
        return np.exp(-((params["r"][:, None] * delay) ** params["s"][:, None]))
    raise common.unknown_model(model, MODELS, "dd")


def later_probabilities(
    model: str, trials: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> np.ndarray:
    """p(choosing the later option) of every trial, [P, T]."""
    later = trials["amount_later"] * discount(model, trials["delay_later"], params)
    sooner = trials["amount_sooner"] * discount(model, trials["delay_sooner"], params)
    return common.logistic(params["beta"][:, None] * (later - sooner))


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 120,
    missing_prob: float = 0.02,
    trials: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate ``model``'s choices: the design's columns, ``choice`` (int, 1 = later; 0
    on missed trials), ``valid`` (bool) and ``probabilities`` (p(later)), [P, T] each.
    ``trials``: a design to use (default :func:`design` with ``n_trials``)."""
    params = common.checked_params(model, params, MODEL_PARAMS, family="dd")
    n_p = len(params["beta"])
    trials = design(n_p, n_trials, rng) if trials is None else dict(trials)
    probs = later_probabilities(model, trials, params)
    return common.one_shot_responses(trials, probs, "choice", rng, missing_prob)


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small dd dataset as a user's raw file has it (``participant``, ``trial`` from 1,
    the dd columns; ``choice`` empty on missed trials) and the true participant
    parameters: 20 participants x 120 trials from dd_hyperbolic."""
    rng = np.random.default_rng(seed)
    n_p, n_t = 20, 120
    params = group_params(MODELS[EXAMPLE_MODEL], EXAMPLE_MU, EXAMPLE_SD, n_p, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_t)
    names = common.participant_ids(n_p)
    columns = {
        **{c: sim[c].ravel() for c in ("delay_later", "amount_later")},
        **{c: sim[c].ravel() for c in ("delay_sooner", "amount_sooner")},
        "choice": common.int_cells(sim["choice"], ~sim["valid"]),
    }
    return common.raw_trials(names, n_t, columns), common.truth_table(names, params)
