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

import math

import numpy as np
import pandas as pd

from cogfit.models.dd_spec import SPECS
from cogfit.models.spec import ModelSpec

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}
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
    phi = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
    out = {}
    for param in spec.params:
        x = np.asarray(unconstrained[param.name], dtype=float)
        if param.link == "probit":
            out[param.name] = phi(x)
        elif param.link == "scaled_probit":
            out[param.name] = float(param.upper) * phi(x)
        else:
            raise ValueError(f"parameter {param.name!r}: link {param.link!r} not simulated")
    return out


def group_params(
    spec: ModelSpec,
    mu: dict[str, float],
    sd: dict[str, float],
    n: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """``n`` participants' natural-scale parameters ``link(mu + sd * z)``, z ~ N(0, 1)."""
    z = {p: mu[p] + sd[p] * rng.standard_normal(n) for p in spec.param_names}
    return natural_values(spec, z)


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
    raise ValueError(f"unknown dd model {model!r}; known: {sorted(MODELS)}")


def later_probabilities(
    model: str, trials: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> np.ndarray:
    """p(choosing the later option) of every trial, [P, T]."""
    later = trials["amount_later"] * discount(model, trials["delay_later"], params)
    sooner = trials["amount_sooner"] * discount(model, trials["delay_sooner"], params)
    return 1.0 / (1.0 + np.exp(-params["beta"][:, None] * (later - sooner)))


def _checked(model: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's parameters as float arrays [P], or a ValueError."""
    if model not in MODELS:
        raise ValueError(f"unknown dd model {model!r}; known: {sorted(MODELS)}")
    names = MODELS[model].param_names
    if set(params) != set(names):
        raise ValueError(f"model {model!r} takes parameters {list(names)}, got {sorted(params)}")
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in params.items()}
    if len({a.shape for a in arrays.values()}) != 1:
        raise ValueError("parameters must all have the same shape [P]")
    return arrays


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
    params = _checked(model, params)
    n_p = len(params["beta"])
    trials = design(n_p, n_trials, rng) if trials is None else dict(trials)
    probs = later_probabilities(model, trials, params)
    choice = (rng.random(probs.shape) < probs).astype(np.int64)
    valid = rng.random(probs.shape) >= missing_prob
    return {**trials, "choice": np.where(valid, choice, 0), "valid": valid, "probabilities": probs}


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small dd dataset as a user's raw file has it (``participant``, ``trial`` from 1,
    the dd columns; ``choice`` empty on missed trials) and the true participant
    parameters: 20 participants x 120 trials from dd_hyperbolic."""
    rng = np.random.default_rng(seed)
    n_p, n_t = 20, 120
    params = group_params(MODELS[EXAMPLE_MODEL], EXAMPLE_MU, EXAMPLE_SD, n_p, rng)
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_t)
    names = [f"sub-{i + 1:02d}" for i in range(n_p)]
    raw = pd.DataFrame(
        {
            "participant": np.repeat(names, n_t),
            "trial": np.tile(np.arange(1, n_t + 1), n_p),
            **{c: sim[c].ravel() for c in ("delay_later", "amount_later")},
            **{c: sim[c].ravel() for c in ("delay_sooner", "amount_sooner")},
            "choice": pd.array(np.where(sim["valid"], sim["choice"], -1).ravel(), "Int64"),
        }
    )
    raw.loc[~sim["valid"].ravel(), "choice"] = pd.NA
    truth = pd.DataFrame({"participant": names, **params})
    return raw, truth
