"""The risk-aversion models (ra_prospect, ra_noLA, ra_noRA): the JAX likelihood against an
independent plain-Python loop written from Sokol-Hessner et al. (2009), the simulator
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
from cogfit.tasks import ra as task

MODELS = ("ra_prospect", "ra_noLA", "ra_noRA")
INPUTS = ("gain", "loss", "cert")


def float64() -> AbstractContextManager:
    """JAX in 64-bit precision inside the block (``jax.enable_x64``; older JAX has it in
    ``jax.experimental``)."""
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # pragma: no cover - older JAX
        from jax.experimental import enable_x64 as enable
    return enable(True)


def reference_value(x: float, rho: float, lam: float) -> float:
    """Prospect theory's value of an amount: x^rho for gains, -lambda (-x)^rho for losses."""
    return x**rho if x >= 0 else -lam * (-x) ** rho


def reference(
    model: str, params: dict[str, np.ndarray], trials: dict[str, np.ndarray], valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: log p(the observed response) (0 where not valid), log p(gamble), and the
    gamble's and the sure amount's utilities, [P, T] each, one trial at a time."""
    n_p, n_t = valid.shape
    logp, logp_gamble = np.zeros((n_p, n_t)), np.zeros((n_p, n_t))
    u_gamble, u_cert = np.zeros((n_p, n_t)), np.zeros((n_p, n_t))
    for i in range(n_p):
        rho = float(params["rho"][i]) if "rho" in params else 1.0  # ra_noRA: rho = 1
        lam = float(params["lambda"][i]) if "lambda" in params else 1.0  # ra_noLA
        tau = float(params["tau"][i])
        for t in range(n_t):
            gain, loss = trials["gain"][i, t], abs(trials["loss"][i, t])
            ug = 0.5 * reference_value(gain, rho, lam) + 0.5 * reference_value(-loss, rho, lam)
            uc = reference_value(trials["cert"][i, t], rho, lam)
            x = tau * (ug - uc)
            log_gamble, log_safe = -math.log1p(math.exp(-x)), -math.log1p(math.exp(x))
            u_gamble[i, t], u_cert[i, t], logp_gamble[i, t] = ug, uc, log_gamble
            if valid[i, t]:
                logp[i, t] = log_gamble if trials["gamble"][i, t] == 1 else log_safe
    return logp, logp_gamble, np.stack([u_gamble, u_cert])


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Values inside each parameter's support (rho on both sides of 1)."""
    ranges = {"rho": (0.4, 1.6), "lambda": (0.5, 3.5), "tau": (0.2, 3.0)}
    return {p: rng.uniform(*ranges[p], n) for p in get_model(model).param_names}


def random_trials(rng: np.random.Generator, n_p: int = 6, n_t: int = 60) -> tuple[dict, np.ndarray]:
    """Mixed and gain-only gambles, losses written as positive or negative amounts, a few
    negative sure amounts and zero gains, random responses, missed trials and a shorter
    participant padded at the end."""
    trials = task.design(n_p, n_t, rng)
    trials["loss"] = np.where(rng.random((n_p, n_t)) < 0.5, -1.0, 1.0) * trials["loss"]
    trials["cert"] = np.where(rng.random((n_p, n_t)) < 0.1, -2.5, trials["cert"])
    trials["gain"] = np.where(rng.random((n_p, n_t)) < 0.05, 0.0, trials["gain"])
    trials["gamble"] = rng.integers(0, 2, (n_p, n_t))
    valid = rng.random((n_p, n_t)) > 0.15
    valid[2, 40:] = False  # a shorter participant
    return trials, valid


def as_data(trials: dict[str, np.ndarray], valid: np.ndarray) -> TaskData:
    return from_arrays({c: trials[c] for c in (*INPUTS, "gamble")}, valid)


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_matches_reference_in_float64(model: str) -> None:
    rng = np.random.default_rng(MODELS.index(model))
    trials, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected, _, _ = reference(model, params, trials, valid)
    m = get_model(model)
    with float64():
        got = np.asarray(trial_log_probs(m, params, as_data(trials, valid).scan_inputs(m), 2))
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
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    got = np.asarray(trial_log_probs(m, p32, as_data(trials, valid).scan_inputs(m), 2))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """Both options' probabilities and the utilities, on every answered trial."""
    rng = np.random.default_rng(11)
    trials, valid = random_trials(rng, n_p=4, n_t=30)
    params = random_params(model, 4, rng)
    _, log_gamble, utilities = reference(model, params, trials, valid)
    m = get_model(model)
    with float64():
        out = trial_outputs(m, params, as_data(trials, valid).scan_inputs(m), 2)
    assert set(out) == {"log_probs", *m.latent_names}
    # a masked trial's cells are zeroed in the data, so compare the answered ones
    np.testing.assert_allclose(
        out["log_probs"][..., 1][valid], log_gamble[valid], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(np.exp(out["log_probs"]).sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(out["utility_gamble"][valid], utilities[0][valid], rtol=1e-9)
    np.testing.assert_allclose(out["utility_certain"][valid], utilities[1][valid], rtol=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_gradients_are_finite_at_zero_amounts_and_padding(model: str) -> None:
    """Sure amounts and losses of 0 (``0^rho``) and zeroed padding cells give finite
    gradients, in the fit's float32."""
    rng = np.random.default_rng(3)
    trials, valid = random_trials(rng)
    m = get_model(model)
    inputs = as_data(trials, valid).scan_inputs(m)
    p32 = {k: v.astype(np.float32) for k, v in random_params(model, valid.shape[0], rng).items()}
    grad = jax.grad(lambda p: trial_log_probs(m, p, inputs, 2).sum())(p32)
    for name, g in grad.items():
        assert np.all(np.isfinite(np.asarray(g))), name


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's p(gamble) is the reference's, and its responses follow it."""
    rng = np.random.default_rng(21)
    n_p, n_t = 40, 200
    params = random_params(model, n_p, rng)
    sim = task.simulate(model, params, rng, n_trials=n_t)
    _, log_gamble, _ = reference(model, params, sim, np.ones((n_p, n_t), bool))
    np.testing.assert_allclose(sim["probabilities"], np.exp(log_gamble), rtol=1e-10, atol=1e-12)
    valid, p = sim["valid"], sim["probabilities"]
    assert 0.9 < valid.mean() < 1.0  # some missed trials
    assert np.all(sim["gamble"][~valid] == 0)
    se = math.sqrt(float((p[valid] * (1 - p[valid])).sum())) / valid.sum()
    assert abs(sim["gamble"][valid].mean() - p[valid].mean()) < 4 * se
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):  # the responses follow p(gamble) trial by trial
        cell = valid & (p >= lo) & (p < hi)
        assert abs(sim["gamble"][cell].mean() - p[cell].mean()) < 0.05


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (negative losses, 1 = gambled, empty when missed) whose
    cleaned table favours the true parameters over distorted ones."""
    raw, truth = task.example(seed=0)
    again, _ = task.example(seed=0)
    pd.testing.assert_frame_equal(raw, again)
    assert list(raw.columns) == ["participant", "trial", *INPUTS, "gamble"]
    assert raw["participant"].nunique() == 20 and len(truth) == 20
    assert list(truth.columns) == ["participant", *get_model(task.EXAMPLE_MODEL).param_names]
    assert raw["trial"].min() == 1 and set(raw["gamble"].dropna().unique()) == {0, 1}
    assert 0 < raw["gamble"].isna().sum() < 0.1 * len(raw)
    assert (raw["loss"] <= 0).all() and (raw["cert"] >= 0).all() and (raw["gain"] > 0).all()
    cleaned = raw.assign(group="all", missed=raw["gamble"].isna())
    data = task_data_from_trials(cleaned, 2)
    m = get_model(task.EXAMPLE_MODEL)
    true = {k: truth[k].to_numpy(np.float32) for k in m.param_names}

    def total(p: dict[str, np.ndarray]) -> float:
        return float(trial_log_probs(m, p, data.scan_inputs(m), 2).sum())

    for name, factor in (("lambda", 1.5), ("lambda", 0.6), ("rho", 1.3), ("rho", 0.7)):
        assert total(true) > total({**true, name: true[name] * factor}) + 20, (name, factor)


# --- parameter recovery ------------------------------------------------------------------

PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
RECOVERY_MODEL = "ra_prospect"
# probit scale: rho = 2 * 0.44 = 0.88, lambda = 5 * 0.36 = 1.82, tau = 30 * 0.08 = 2.42
RECOVERY_MU = {"rho": -0.15, "lambda": -0.35, "tau": -1.4}
RECOVERY_SD = {"rho": 0.2, "lambda": 0.2, "tau": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    from cogfit.fit import SamplerSettings, fit

    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=140)
    data = as_data(sim, sim["valid"])
    settings = SamplerSettings(chains=2, warmup=300, samples=300, seed=1, device="cpu")
    return fit(RECOVERY_MODEL, data, settings, dataset="ra-recovery"), params


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
            f"{spec.name}: true group mean {true_mean:.3f}, posterior {draws.mean():.3f} "
            f"[{lo:.3f}, {hi:.3f}], participant r = {correlation[spec.name]:.2f}"
        )
        if not lo <= true_mean <= hi:
            missed.append(f"{spec.name}: 95% [{lo:.3f}, {hi:.3f}] misses {true_mean:.3f}")
    assert not missed, missed
    assert correlation["rho"] > 0.7 and correlation["lambda"] > 0.7
