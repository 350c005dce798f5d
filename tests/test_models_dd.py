"""The delay-discounting models (dd_exp, dd_hyperbolic, dd_cs): the JAX likelihood against
an independent plain-Python loop written from the papers' equations, the simulator
against the same loop, the example data, and parameter recovery with real NUTS."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager

import jax
import numpy as np
import pandas as pd
import pytest

from cogfit.data import TaskData, from_arrays, task_data_from_trials
from cogfit.likelihood import trial_log_probs, trial_outputs
from cogfit.models import get_model
from cogfit.tasks import dd as task

MODELS = ("dd_exp", "dd_hyperbolic", "dd_cs")
INPUTS = ("delay_later", "amount_later", "delay_sooner", "amount_sooner")


def float64() -> AbstractContextManager:
    """JAX in 64-bit precision inside the block (``jax.enable_x64``; older JAX has it in
    ``jax.experimental``)."""
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # pragma: no cover - older JAX
        from jax.experimental import enable_x64 as enable
    return enable(True)


def reference_discount(model: str, delay: float, p: dict[str, float]) -> float:
    """D(delay): Samuelson (1937) exp(-r d); Mazur (1987) 1 / (1 + k d); Ebert & Prelec
    (2007) exp(-(r d)^s)."""
    if model == "dd_exp":
        return math.exp(-p["r"] * delay)
    if model == "dd_hyperbolic":
        return 1.0 / (1.0 + p["k"] * delay)
    if model == "dd_cs":
        return math.exp(-((p["r"] * delay) ** p["s"]))
    raise AssertionError(model)


def reference(
    model: str, params: dict[str, np.ndarray], trials: dict[str, np.ndarray], valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: log p(the observed choice) (0 where not valid), log p(later), and the
    later and sooner values, each [P, T], one trial at a time."""
    n_p, n_t = valid.shape
    logp, logp_later = np.zeros((n_p, n_t)), np.zeros((n_p, n_t))
    v_later, v_sooner = np.zeros((n_p, n_t)), np.zeros((n_p, n_t))
    for i in range(n_p):
        p = {name: float(v[i]) for name, v in params.items()}
        for t in range(n_t):
            later = trials["amount_later"][i, t] * reference_discount(
                model, trials["delay_later"][i, t], p
            )
            sooner = trials["amount_sooner"][i, t] * reference_discount(
                model, trials["delay_sooner"][i, t], p
            )
            x = p["beta"] * (later - sooner)
            log_later = -math.log1p(math.exp(-x))  # log logistic(x)
            log_sooner = -math.log1p(math.exp(x))
            v_later[i, t], v_sooner[i, t], logp_later[i, t] = later, sooner, log_later
            if valid[i, t]:
                logp[i, t] = log_later if trials["choice"][i, t] == 1 else log_sooner
    return logp, logp_later, np.stack([v_later, v_sooner])


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Values inside each parameter's support, with s on both sides of 1."""
    ranges = {"r": (0.005, 0.3), "k": (0.005, 0.3), "s": (0.3, 2.5), "beta": (0.1, 2.0)}
    return {p: rng.uniform(*ranges[p], n) for p in get_model(model).param_names}


def random_trials(rng: np.random.Generator, n_p: int = 6, n_t: int = 50) -> tuple[dict, np.ndarray]:
    """A design with immediate and delayed sooner options, random choices, missed trials
    and a shorter participant padded at the end."""
    trials = task.design(n_p, n_t, rng)
    trials["choice"] = rng.integers(0, 2, (n_p, n_t))
    valid = rng.random((n_p, n_t)) > 0.15
    valid[1, 35:] = False  # a shorter participant
    return trials, valid


def as_data(trials: dict[str, np.ndarray], valid: np.ndarray) -> TaskData:
    return from_arrays({c: trials[c] for c in (*INPUTS, "choice")}, valid)


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_matches_reference_in_float64(model: str) -> None:
    rng = np.random.default_rng(abs(hash(model)) % 2**32)
    trials, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected, _, _ = reference(model, params, trials, valid)
    m = get_model(model)
    with float64():
        data = as_data(trials, valid)
        got = np.asarray(trial_log_probs(m, params, data.scan_inputs(m), 2))
    assert got.shape == valid.shape
    np.testing.assert_array_equal(got[~valid], 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_in_float32(model: str) -> None:
    """The fit's default precision agrees within float32's tolerance."""
    rng = np.random.default_rng(5)
    trials, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected, _, _ = reference(model, params, trials, valid)
    m = get_model(model)
    data = as_data(trials, valid)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    got = np.asarray(trial_log_probs(m, p32, data.scan_inputs(m), 2))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """Both options' probabilities and the latent values, on every trial."""
    rng = np.random.default_rng(11)
    trials, valid = random_trials(rng, n_p=4, n_t=30)
    params = random_params(model, 4, rng)
    _, log_later, values = reference(model, params, trials, valid)
    m = get_model(model)
    with float64():
        out = trial_outputs(m, params, as_data(trials, valid).scan_inputs(m), 2)
    assert set(out) == {"log_probs", *m.latent_names}
    # a masked trial's cells are zeroed in the data, so compare the answered ones
    np.testing.assert_allclose(
        out["log_probs"][..., 1][valid], log_later[valid], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(np.exp(out["log_probs"]).sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(out["value_later"][valid], values[0][valid], rtol=1e-9)
    np.testing.assert_allclose(out["value_sooner"][valid], values[1][valid], rtol=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_gradients_are_finite_at_zero_delays_and_padding(model: str) -> None:
    """Immediate options (delay 0: ``0^s``), zeroed padding cells and delays whose
    ``(r d)^s`` overflows float32 give finite gradients, in the fit's float32."""
    rng = np.random.default_rng(3)
    trials, valid = random_trials(rng)
    trials["delay_sooner"][:, :10] = 0.0
    trials["delay_later"][:, 10:12] = 1e5
    valid[:, 10:12] = True
    m = get_model(model)
    inputs = as_data(trials, valid).scan_inputs(m)
    params = random_params(model, valid.shape[0], rng)
    if "s" in params:
        params["r"][0], params["s"][0] = 0.9, 9.5  # (0.9 * 1e5)^9.5 overflows float32
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    grad = jax.grad(lambda p: trial_log_probs(m, p, inputs, 2).sum())(p32)
    for name, g in grad.items():
        assert np.all(np.isfinite(np.asarray(g))), name


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's p(later) is the reference's, and its choices follow it."""
    rng = np.random.default_rng(21)
    n_p, n_t = 40, 200
    params = random_params(model, n_p, rng)
    sim = task.simulate(model, params, rng, n_trials=n_t)
    everything = np.ones((n_p, n_t), bool)
    _, log_later, _ = reference(model, params, sim, everything)
    np.testing.assert_allclose(sim["probabilities"], np.exp(log_later), rtol=1e-10, atol=1e-12)
    valid, p = sim["valid"], sim["probabilities"]
    assert 0.9 < valid.mean() < 1.0  # some missed trials
    assert np.all(sim["choice"][~valid] == 0)
    se = math.sqrt(float((p[valid] * (1 - p[valid])).sum())) / valid.sum()
    assert abs(sim["choice"][valid].mean() - p[valid].mean()) < 4 * se
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):  # the choices follow p(later) trial by trial
        cell = valid & (p >= lo) & (p < hi)
        assert abs(sim["choice"][cell].mean() - p[cell].mean()) < 0.05


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (1 = later, empty when missed) whose cleaned table
    favours the true parameters over distorted ones."""
    raw, truth = task.example(seed=0)
    again, _ = task.example(seed=0)
    pd.testing.assert_frame_equal(raw, again)
    assert list(raw.columns) == ["participant", "trial", *INPUTS, "choice"]
    assert raw["participant"].nunique() == 20 and len(truth) == 20
    assert list(truth.columns) == ["participant", *get_model(task.EXAMPLE_MODEL).param_names]
    assert raw["trial"].min() == 1 and set(raw["choice"].dropna().unique()) == {0, 1}
    assert 0 < raw["choice"].isna().sum() < 0.1 * len(raw)
    assert (raw["amount_later"] > raw["amount_sooner"]).all()
    assert (raw["delay_later"] > raw["delay_sooner"]).all()
    cleaned = raw.assign(group="all", missed=raw["choice"].isna())
    data = task_data_from_trials(cleaned, 2)
    m = get_model(task.EXAMPLE_MODEL)
    true = {k: truth[k].to_numpy(np.float32) for k in m.param_names}

    def total(p: dict[str, np.ndarray]) -> float:
        return float(trial_log_probs(m, p, data.scan_inputs(m), 2).sum())

    assert total(true) > total({**true, "k": true["k"] * 4}) + 50
    assert total(true) > total({**true, "k": true["k"] / 4}) + 50


# --- parameter recovery ------------------------------------------------------------------

PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
RECOVERY_MODEL = "dd_hyperbolic"
RECOVERY_MU = {"k": -1.9, "beta": -0.8}  # probit scale: k = 0.029, beta = 5 * 0.21 = 1.06
RECOVERY_SD = {"k": 0.25, "beta": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    from cogfit.fit import SamplerSettings, fit

    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=120)
    data = as_data(sim, sim["valid"])
    settings = SamplerSettings(chains=2, warmup=300, samples=300, seed=1, device="cpu")
    return fit(RECOVERY_MODEL, data, settings, dataset="dd-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_and_participants(recovery) -> None:  # noqa: ANN001
    idata, truth = recovery
    m = get_model(RECOVERY_MODEL)
    missed, correlation = [], {}
    for spec in m.params:
        true_mean = (spec.upper or 1.0) * float(PHI(RECOVERY_MU[spec.name]))
        draws = idata.posterior[f"{spec.name}_mu_natural"].values.ravel()
        lo, hi = np.quantile(draws, [0.025, 0.975])
        est = idata.posterior[spec.name].mean(("chain", "draw")).values
        correlation[spec.name] = float(np.corrcoef(est, truth[spec.name])[0, 1])
        print(
            f"{spec.name}: true group mean {true_mean:.4f}, posterior {draws.mean():.4f} "
            f"[{lo:.4f}, {hi:.4f}], participant r = {correlation[spec.name]:.2f}"
        )
        if not lo <= true_mean <= hi:
            missed.append(f"{spec.name}: 95% [{lo:.4f}, {hi:.4f}] misses {true_mean:.4f}")
    assert not missed, missed
    assert correlation["k"] > 0.8
