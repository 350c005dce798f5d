"""What the task simulators share, in plain NumPy (no JAX): checking a model's parameters,
drawing participants' parameters through the specs' links, the choice rules and the
draws of choices, and the layout of a raw example table (options numbered from 1, empty
cells for missing responses, one row of true parameters per participant)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cogfit.models.spec import ModelSpec, ParamSpec

# --- a model's parameters ---------------------------------------------------------------


def unknown_model(model: str, known: Iterable[str], family: str | None = None) -> ValueError:
    """The error for a model the simulator does not know (``family``: named in it)."""
    if family is None:
        return ValueError(f"unknown model {model!r}; known models: {sorted(known)}")
    return ValueError(f"unknown {family} model {model!r}; known: {sorted(known)}")


def model_names(
    model: str, models: Mapping[str, Sequence[str]], family: str | None = None
) -> Sequence[str]:
    """The parameters of ``model`` (``models``: each model's parameter names)."""
    if model not in models:
        raise unknown_model(model, models, family)
    return models[model]


def check_names(
    model: str,
    params: Mapping[str, object],
    models: Mapping[str, Sequence[str]],
    family: str | None = None,
) -> Sequence[str]:
    """The parameters of ``model``, or a ValueError unless ``params`` has exactly them."""
    names = model_names(model, models, family)
    if set(params) != set(names):
        raise ValueError(f"model {model!r} takes parameters {list(names)}, got {sorted(params)}")
    return names


def checked_params(
    model: str,
    params: Mapping[str, object],
    models: Mapping[str, Sequence[str]],
    *,
    family: str | None = None,
    as_array: Callable[[np.ndarray], np.ndarray] = np.atleast_1d,
    one_dim: bool = False,
) -> dict[str, np.ndarray]:
    """``model``'s parameters as float arrays, all of one shape [P], or a ValueError.

    ``as_array`` shapes each float array (default: a scalar is one participant);
    ``one_dim``: the shape must be one-dimensional.
    """
    check_names(model, params, models, family)
    arrays = {k: as_array(np.asarray(v, dtype=float)) for k, v in params.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or (one_dim and len(next(iter(shapes))) != 1):
        raise ValueError("parameters must all have the same shape [P]")
    return arrays


# --- parameters through the links ---------------------------------------------------------


def phi(x: np.ndarray | float) -> np.ndarray:
    """The standard normal CDF, elementwise."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def natural_value(param: ParamSpec, x: np.ndarray | float) -> np.ndarray:
    """A parameter's natural-scale value from its unconstrained one ``x``, by its link
    (those the simulators use: probit, scaled_probit, exp, identity)."""
    x = np.asarray(x, dtype=float)
    if param.link == "probit":
        return phi(x)
    if param.link == "scaled_probit":
        return float(param.upper) * phi(x)
    if param.link == "exp":
        return np.exp(x)
    if param.link == "identity":
        return x
    raise ValueError(f"parameter {param.name!r}: link {param.link!r} not simulated here")


def draw_natural(
    params: Iterable[ParamSpec],
    group: Mapping[str, tuple[float, float]],
    n: int,
    rng: np.random.Generator,
    *,
    standardise: bool = False,
) -> dict[str, np.ndarray]:
    """``n`` participants' natural-scale values of each parameter, in turn:
    ``link(mean + sd * z)`` with ``(mean, sd) = group[name]`` and ``z ~ N(0, 1)``;
    ``standardise``: ``z`` rescaled to sample mean 0 and sd 1, so the sample's mean on
    the unconstrained scale is the group's."""
    out = {}
    for param in params:
        mean, sd = group[param.name]
        z = rng.standard_normal(n)
        if standardise:
            z = (z - z.mean()) / z.std()
        out[param.name] = natural_value(param, mean + sd * z)
    return out


def group_params(
    spec: ModelSpec,
    mu: Mapping[str, float],
    sd: Mapping[str, float],
    n: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """``n`` participants' natural-scale parameters of ``spec``, ``link(mu + sd * z)``,
    z ~ N(0, 1)."""
    group = {name: (mu[name], sd[name]) for name in spec.param_names}
    return draw_natural(spec.params, group, n, rng)


# --- choice rules and draws -----------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    """The softmax over the last axis (the options)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def logistic(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``: the probability of the second of two options whose logits
    differ by ``x``."""
    return 1.0 / (1.0 + np.exp(-x))


def sample_options(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One option per row of ``probs`` [P, K] (0-based), by one uniform draw each."""
    u = rng.random((probs.shape[0], 1))
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def bernoulli(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1 with probability ``p``, else 0 (int, shaped like ``p``)."""
    return (rng.random(np.shape(p)) < p).astype(np.int64)


def one_shot_responses(
    trials: Mapping[str, np.ndarray],
    probs: np.ndarray,
    response: str,
    rng: np.random.Generator,
    missing_prob: float,
) -> dict[str, np.ndarray]:
    """Binary one-shot responses to a design, [P, T] each: ``trials``' columns, then
    ``response`` (1 with probability ``probs``; 0 on a missed trial), ``valid`` (an
    answered trial, with probability ``1 - missing_prob``) and ``probabilities``."""
    chosen = bernoulli(probs, rng)
    valid = rng.random(probs.shape) >= missing_prob
    return {**trials, response: np.where(valid, chosen, 0), "valid": valid, "probabilities": probs}


# --- raw example tables ------------------------------------------------------------------


def participant_ids(n: int, prefix: str = "sub-") -> list[str]:
    """``prefix`` + 01, 02, ...: the participants of an example."""
    return [f"{prefix}{i + 1:02d}" for i in range(n)]


def int_cells(values: np.ndarray, empty: np.ndarray) -> pd.arrays.IntegerArray:
    """[P, T] whole numbers as one column (participant-major) of nullable integers, with
    empty cells where ``empty``."""
    cells = pd.array(np.where(empty, 0, values).ravel().astype(np.int64), dtype="Int64")
    cells[np.ravel(empty)] = pd.NA
    return cells


def raw_trials(ids: Sequence[str], n_trials: int, columns: Mapping[str, object]) -> pd.DataFrame:
    """The trials as a user's file has them: ``participant``, ``trial`` (1..T), then
    ``columns`` (each participant-major, ``n_trials`` rows per participant)."""
    ids = list(ids)
    return pd.DataFrame(
        {
            "participant": np.repeat(ids, n_trials),
            "trial": np.tile(np.arange(1, n_trials + 1), len(ids)),
            **columns,
        }
    )


def truth_table(ids: Sequence[str], params: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The true parameters: ``participant`` and one column per parameter."""
    return pd.DataFrame({"participant": ids, **params})
