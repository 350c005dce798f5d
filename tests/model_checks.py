"""Shared checks of the model families' tests (``tests/test_models_*.py``).

Each family's file keeps its own plain-Python reference of the model's equations (written
from the papers, independent of the JAX kernels and of each other); what is here is the
machinery around them: the JAX likelihood and outputs in either precision and with
either scan, compared with a reference's log-probabilities; the recovery check of a real
NUTS fit; random masks and parameters; binomial checks of simulated responses; the
example tables' common contract."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from cogfit.data import TaskData, task_data_from_trials
from cogfit.likelihood import trial_log_probs, trial_outputs
from cogfit.models import get_model, get_spec
from cogfit.names import log_probs_key, site_name
from cogfit.runtime import precision

#: (rtol, atol) of a comparison with a float64 reference, by the precision JAX ran in
TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (2e-4, 2e-4)}

# ---- the standard normal CDF and the links, written out ------------------------------------

PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))


def natural(model: str, name: str, x: np.ndarray | float) -> np.ndarray:
    """``x`` on the natural scale of ``model``'s parameter ``name``, by its spec's link."""
    (spec,) = (p for p in get_spec(model).params if p.name == name)
    if spec.link == "probit":
        return PHI(x)
    if spec.link == "scaled_probit":
        return spec.upper * PHI(x)
    assert spec.link == "identity", f"{name}: link {spec.link} not written out here"
    return np.asarray(x, dtype=float)


# ---- random parameters and masks -----------------------------------------------------------


def uniform_params(
    model: str, ranges: Mapping[str, tuple[float, float]], n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``n`` values of each of ``model``'s parameters, uniform on ``ranges[name]``."""
    return {p: rng.uniform(*ranges[p], n) for p in get_spec(model).param_names}


def params_by_link(
    model: str,
    n: int,
    rng: np.random.Generator,
    *,
    probit: tuple[float, float],
    scaled_probit: tuple[float, float],
    exp: tuple[float, float] | None = None,
    identity_sd: float | None = None,
) -> dict[str, np.ndarray]:
    """``n`` natural-scale values of each parameter, drawn in the spec's order by its link:
    uniform on ``probit``; uniform on ``scaled_probit`` times the bound; uniform on ``exp``;
    normal around 0 with sd ``identity_sd``. A link not given fails the test."""
    out = {}
    for spec in get_spec(model).params:
        if spec.link == "probit":
            out[spec.name] = rng.uniform(*probit, n)
        elif spec.link == "scaled_probit":
            out[spec.name] = rng.uniform(*scaled_probit, n) * spec.upper
        elif spec.link == "exp" and exp is not None:
            out[spec.name] = rng.uniform(*exp, n)
        elif spec.link == "identity" and identity_sd is not None:
            out[spec.name] = rng.normal(0.0, identity_sd, n)
        else:
            raise AssertionError(f"{spec.name}: link {spec.link} not drawn here")
    return out


def random_valid(
    rng: np.random.Generator,
    n_p: int,
    n_t: int,
    *,
    short: tuple[int, int],
    missed: float = 0.15,
    complete: int | None = None,
) -> np.ndarray:
    """The valid mask [P, T]: each trial missed with probability ``missed``, participant
    ``complete`` (when given) missing none, and participant ``short[0]`` stopping after
    ``short[1]`` trials (padding at the end)."""
    valid = rng.random((n_p, n_t)) > missed
    if complete is not None:
        valid[complete] = True
    participant, last = short
    valid[participant, last:] = False
    return valid


def standardised(
    rng: np.random.Generator, group: Mapping[str, tuple[float, float]], n: int
) -> dict[str, np.ndarray]:
    """Per parameter in order, ``n`` unconstrained values of group (mean, sd): standard-normal
    offsets centred and scaled, so the sample's mean and sd are the group's exactly (a
    recovery's miss then measures the fit, not the draw)."""
    out = {}
    for name, (mu, sd) in group.items():
        z = rng.standard_normal(n)
        out[name] = mu + sd * (z - z.mean()) / z.std()
    return out


def scrambled(inputs: Mapping[str, np.ndarray], keep: np.ndarray, junk: Mapping[str, Any]):
    """A copy of ``inputs`` whose columns named in ``junk`` hold ``junk[name]`` (a value or
    an array) outside ``keep``, in the column's dtype."""
    out = dict(inputs)
    for name, value in junk.items():
        out[name] = np.where(keep, inputs[name], value).astype(inputs[name].dtype)
    return out


# ---- the JAX likelihood ----------------------------------------------------------------------


@functools.cache
def _compiled(model: str, n_options: int, scan: str) -> Callable:
    """trial_log_probs of ``model`` as one program, compiled once per input shapes and dtypes
    (op by op, the scans compile far slower)."""
    m = get_model(model)
    return jax.jit(lambda p, x: trial_log_probs(m, p, x, n_options, scan))


@functools.cache
def _compiled_outputs(model: str, n_options: int) -> Callable:
    m = get_model(model)
    return jax.jit(lambda p, x: trial_outputs(m, p, x, n_options))


def _in_float32(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: jnp.asarray(v, jnp.float32) if jnp.issubdtype(jnp.result_type(v), jnp.floating) else v
        for k, v in values.items()
    }


def log_probs(
    model: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    n_options: int = 2,
    scan: str = "sequential",
    dtype: str = "float32",
) -> np.ndarray:
    """cogfit's trial log-probabilities [P, T] of ``model``: in float64 under JAX's x64, or in
    float32 (the fit's default precision) with the parameters and real inputs cast."""
    if dtype == "float64":
        with precision("float64"):
            return np.asarray(_compiled(model, n_options, scan)(dict(params), dict(inputs)))
    assert dtype == "float32", dtype
    return np.asarray(_compiled(model, n_options, scan)(_in_float32(params), _in_float32(inputs)))


def assert_log_probs_match(
    model: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    expected: np.ndarray,
    valid: np.ndarray,
    *,
    dtype: str,
    scan: str = "sequential",
    n_options: int = 2,
    rtol: float | None = None,
    atol: float | None = None,
) -> np.ndarray:
    """The JAX log-probabilities (:func:`log_probs`) against a float64 reference's
    ``expected`` [P, T]: the shape and precision asked for, exactly 0 where not ``valid``,
    and within (``rtol``, ``atol``), by default the precision's :data:`TOLERANCE`."""
    got = log_probs(model, params, inputs, n_options, scan, dtype)
    assert got.shape == np.shape(expected) == np.shape(valid), (got.shape, np.shape(expected))
    assert got.dtype == np.dtype(dtype), got.dtype
    np.testing.assert_array_equal(got[~np.asarray(valid, bool)], 0.0)
    default_rtol, default_atol = TOLERANCE[dtype]
    np.testing.assert_allclose(
        got,
        expected,
        rtol=default_rtol if rtol is None else rtol,
        atol=default_atol if atol is None else atol,
    )
    return got


def assert_unchanged(
    model: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    changed: Mapping[str, Any],
    n_options: int = 2,
    *,
    changed_options: int | None = None,
    dtype: str = "float32",
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> np.ndarray:
    """The log-probabilities of ``changed`` inputs (garbage where nothing may be read, say)
    are those of ``inputs``; ``changed_options`` is the option count passed with them."""
    base = log_probs(model, params, inputs, n_options, dtype=dtype)
    moved = log_probs(model, params, changed, changed_options or n_options, dtype=dtype)
    np.testing.assert_allclose(moved, base, rtol=rtol, atol=atol)
    return base


def finite_gradients(
    model: str, params: Mapping[str, Any], inputs: Mapping[str, Any], n_options: int = 2
) -> tuple[float, dict[str, np.ndarray]]:
    """The summed float32 log-likelihood and its gradient in every parameter, each finite
    (NUTS needs it)."""
    m = get_model(model)
    total, grad = jax.jit(
        jax.value_and_grad(lambda q: trial_log_probs(m, q, inputs, n_options).sum())
    )(_in_float32(params))
    grad = {k: np.asarray(g) for k, g in grad.items()}
    for name, g in grad.items():
        assert np.all(np.isfinite(g)), name
    return float(total), grad


def outputs64(
    model: str, params: Mapping[str, Any], inputs: Mapping[str, Any], n_options: int = 2
) -> dict[str, np.ndarray]:
    """trial_outputs in float64, as NumPy arrays, checked to hold exactly one log-probability
    table per response and the model's latents."""
    m = get_model(model)
    with precision("float64"):
        outputs = _compiled_outputs(model, n_options)(dict(params), dict(inputs))
        out = {k: np.asarray(v) for k, v in outputs.items()}
    responses = {log_probs_key(m.responses, r) for r in m.responses}
    assert set(out) == responses | set(m.latent_names), sorted(out)
    return out


def check_binary_outputs(
    model: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    log_p1: np.ndarray,
    valid: np.ndarray,
    latents: Mapping[str, np.ndarray],
    *,
    rtol: float = 1e-9,
    atol: float = 0.0,
) -> dict[str, np.ndarray]:
    """:func:`outputs64` of a model with one binary response against a reference: on the
    answered trials (a masked trial's cells are zeroed in the data) log p(option 1) is
    ``log_p1`` (rtol 1e-9, atol 1e-12) and each of ``latents`` [P, T] is the reference's
    (``rtol``, ``atol``); on every trial both options' probabilities sum to 1."""
    out = outputs64(model, params, inputs)
    got = out["log_probs"][..., 1][valid]
    np.testing.assert_allclose(got, log_p1[valid], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.exp(out["log_probs"]).sum(-1), 1.0, rtol=1e-12)
    for name, expected in latents.items():
        got = out[name][valid]
        np.testing.assert_allclose(got, expected[valid], rtol=rtol, atol=atol, err_msg=name)
    return out


def scan_cases(models: Iterable[str]) -> list[tuple[str, str]]:
    """(scan, model): every model with the sequential scan, then those with an affine update
    (``linear``) with the associative one."""
    models = list(models)
    affine = [m for m in models if get_model(m).linear is not None]
    return [("sequential", m) for m in models] + [("associative", m) for m in affine]


# ---- simulated responses ---------------------------------------------------------------------


def assert_binomial(hits: Any, p: Any, z: float = 4.0) -> None:
    """Bernoulli outcomes ``hits`` against their probabilities ``p`` (alike, or one rate):
    the count lies within ``z`` standard deviations of its expectation."""
    hits = np.asarray(hits, dtype=float)
    p = np.broadcast_to(np.asarray(p, dtype=float), hits.shape)
    sd = math.sqrt(float((p * (1.0 - p)).sum()))
    assert abs(hits.sum() - p.sum()) < z * sd, (hits.sum(), p.sum(), sd)


def assert_choices_follow(
    choice: np.ndarray, probs: np.ndarray, valid: np.ndarray, z: float = 4.0
) -> None:
    """Over the ``valid`` trials, each option's count within ``z`` sd of its summed
    probability (``probs`` [P, T, K])."""
    for k in range(probs.shape[-1]):
        assert_binomial(choice[valid] == k, probs[valid][:, k], z)


def check_binary_simulation(response: np.ndarray, p: np.ndarray, valid: np.ndarray) -> None:
    """A simulated binary task: some trials (under 10%) missed and coded 0, responses of 1
    at the rate of their probabilities ``p``, overall (:func:`assert_binomial`) and within
    0.05 in the confident bands [0, 0.2) and [0.8, 1) (trial by trial)."""
    assert 0.9 < valid.mean() < 1.0  # some missed trials
    assert np.all(response[~valid] == 0)
    assert_binomial(response[valid], p[valid])
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):
        cell = valid & (p >= lo) & (p < hi)
        assert abs(response[cell].mean() - p[cell].mean()) < 0.05


# ---- the example tables ----------------------------------------------------------------------


def example_tables(
    task: ModuleType, seed: int = 0, model: str | None = None, participants: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``task.example(seed)`` (of ``model``, when given) twice: the same raw table and truth
    both times, ``participants`` of them in both, and a truth of ``model``'s parameters
    (by default the task's ``EXAMPLE_MODEL``)."""
    kwargs = {} if model is None else {"model": model}
    trials, truth = task.example(seed=seed, **kwargs)
    again, truth_again = task.example(seed=seed, **kwargs)
    pd.testing.assert_frame_equal(again, trials, check_exact=True)
    pd.testing.assert_frame_equal(truth_again, truth, check_exact=True)
    assert trials["participant"].nunique() == len(truth) == participants
    params = get_spec(model or task.EXAMPLE_MODEL).param_names
    assert list(truth.columns) == ["participant", *params]
    return trials, truth


def check_binary_example(
    task: ModuleType,
    columns: Sequence[str],
    response: str,
    distortions: Iterable[tuple[str, float]],
    margin: float,
) -> pd.DataFrame:
    """The example of a task with one binary response: a raw file (:func:`example_tables`)
    of ``participant, trial, *columns, response``, trials from 1, responses 0 or 1 and
    empty (under 10%) when missed; its cleaned table scores the true parameters above each
    of ``distortions`` (a parameter times a factor) by more than ``margin``. Returns it."""
    raw, truth = example_tables(task)
    assert list(raw.columns) == ["participant", "trial", *columns, response]
    assert raw["trial"].min() == 1 and set(raw[response].dropna().unique()) == {0, 1}
    assert 0 < raw[response].isna().sum() < 0.1 * len(raw)
    cleaned = raw.assign(group="all", missed=raw[response].isna())
    data: TaskData = task_data_from_trials(cleaned, 2)
    m = get_model(task.EXAMPLE_MODEL)
    true = {k: truth[k].to_numpy(np.float32) for k in m.param_names}

    def total(p: dict[str, np.ndarray]) -> float:
        return float(trial_log_probs(m, p, data.scan_inputs(m), 2).sum())

    for name, factor in distortions:
        assert total(true) > total({**true, name: true[name] * factor}) + margin, (name, factor)
    return raw


# ---- parameter recovery ----------------------------------------------------------------------


def nuts_fit(model: str, data: TaskData, dataset: str, seed: int = 3) -> Any:
    """A real NUTS fit on the CPU: two chains of 300 warm-up and 300 kept draws."""
    from cogfit.fit import SamplerSettings, fit

    settings = SamplerSettings(chains=2, warmup=300, samples=300, seed=seed, device="cpu")
    return fit(model, data, settings, dataset=dataset)


def check_recovery(
    idata: Any,
    group_means: Mapping[str, float],
    truth: Mapping[str, np.ndarray],
    *,
    label: str = "",
    digits: int = 3,
    max_divergent: int | None = None,
) -> dict[str, float]:
    """Every true natural-scale group mean lies inside the posterior 95% central interval of
    its ``<param>_mu_natural``, and (``max_divergent``) at most so many transitions
    diverged. Prints per parameter the truth, the posterior mean and interval, and the
    correlation across participants of the posterior-mean estimates with the true values
    ``truth``; returns those correlations."""
    lines, misses, correlation = [], [], {}
    for name, true in group_means.items():
        draws = idata.posterior[site_name(name, "mu_natural")].values.ravel()
        lo, hi = np.quantile(draws, [0.025, 0.975])
        est = idata.posterior[site_name(name, "theta")].mean(("chain", "draw")).values
        correlation[name] = float(np.corrcoef(est, truth[name])[0, 1])
        f = f".{digits}f"
        lines.append(
            f"{label}{name}: true {true:{f}}, posterior mean {draws.mean():{f}} "
            f"[{lo:{f}}, {hi:{f}}], participant r = {correlation[name]:.2f}"
        )
        if not lo <= true <= hi:
            misses.append(f"{label}{name}: 95% interval [{lo:{f}}, {hi:{f}}] misses {true:{f}}")
    print("\n" + "\n".join(lines))
    assert not misses, misses
    if max_divergent is not None:
        diverging = int(idata.sample_stats["diverging"].sum())
        assert diverging <= max_divergent, f"{diverging} divergent transitions"
    return correlation
