"""The risk-aversion models (ra_prospect, ra_noLA, ra_noRA): the JAX likelihood against an
independent plain-Python loop written from Sokol-Hessner et al. (2009), the simulator
against the same loop, the example data, and parameter recovery with real NUTS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_checks import (
    assert_log_probs_match,
    check_binary_example,
    check_binary_outputs,
    check_binary_simulation,
    check_recovery,
    finite_gradients,
    natural,
    nuts_fit,
    random_valid,
    uniform_params,
)

from cogfit.data import TaskData, from_arrays
from cogfit.models import get_model
from cogfit.tasks import ra as task

MODELS = ("ra_prospect", "ra_noLA", "ra_noRA")
INPUTS = ("gain", "loss", "cert")


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
    return uniform_params(model, ranges, n, rng)


def random_trials(rng: np.random.Generator, n_p: int = 6, n_t: int = 60) -> tuple[dict, np.ndarray]:
    """Mixed and gain-only gambles, losses written as positive or negative amounts, a few
    negative sure amounts and zero gains, random responses, missed trials and a shorter
    participant padded at the end."""
    trials = task.design(n_p, n_t, rng)
    trials["loss"] = np.where(rng.random((n_p, n_t)) < 0.5, -1.0, 1.0) * trials["loss"]
    trials["cert"] = np.where(rng.random((n_p, n_t)) < 0.1, -2.5, trials["cert"])
    trials["gain"] = np.where(rng.random((n_p, n_t)) < 0.05, 0.0, trials["gain"])
    trials["gamble"] = rng.integers(0, 2, (n_p, n_t))
    valid = random_valid(rng, n_p, n_t, short=(2, 40))
    return trials, valid


def as_data(trials: dict[str, np.ndarray], valid: np.ndarray) -> TaskData:
    return from_arrays({c: trials[c] for c in (*INPUTS, "gamble")}, valid)


def scan_inputs(model: str, trials: dict[str, np.ndarray], valid: np.ndarray) -> dict:
    return as_data(trials, valid).scan_inputs(get_model(model))


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    trials, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected, _, _ = reference(model, params, trials, valid)
    return params, scan_inputs(model, trials, valid), expected, valid


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_matches_reference_in_float64(model: str) -> None:
    case = reference_case(model, MODELS.index(model))
    assert_log_probs_match(model, *case, dtype="float64")


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_in_float32(model: str) -> None:
    """The fit's default precision agrees within float32's tolerance."""
    assert_log_probs_match(model, *reference_case(model, 5), dtype="float32")


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """Both options' probabilities and the utilities, on every answered trial."""
    rng = np.random.default_rng(11)
    trials, valid = random_trials(rng, n_p=4, n_t=30)
    params = random_params(model, 4, rng)
    _, log_gamble, utilities = reference(model, params, trials, valid)
    latents = {"utility_gamble": utilities[0], "utility_certain": utilities[1]}
    inputs = scan_inputs(model, trials, valid)
    check_binary_outputs(model, params, inputs, log_gamble, valid, latents)


@pytest.mark.parametrize("model", MODELS)
def test_gradients_are_finite_at_zero_amounts_and_padding(model: str) -> None:
    """Sure amounts and losses of 0 (``0^rho``) and zeroed padding cells give finite
    gradients, in the fit's float32."""
    rng = np.random.default_rng(3)
    trials, valid = random_trials(rng)
    inputs = scan_inputs(model, trials, valid)
    finite_gradients(model, random_params(model, valid.shape[0], rng), inputs)


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's p(gamble) is the reference's, and its responses follow it."""
    rng = np.random.default_rng(21)
    n_p, n_t = 40, 200
    params = random_params(model, n_p, rng)
    sim = task.simulate(model, params, rng, n_trials=n_t)
    _, log_gamble, _ = reference(model, params, sim, np.ones((n_p, n_t), bool))
    np.testing.assert_allclose(sim["probabilities"], np.exp(log_gamble), rtol=1e-10, atol=1e-12)
    check_binary_simulation(sim["gamble"], sim["probabilities"], sim["valid"])


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (negative losses, 1 = gambled, empty when missed) whose
    cleaned table favours the true parameters over distorted ones."""
    distortions = (("lambda", 1.5), ("lambda", 0.6), ("rho", 1.3), ("rho", 0.7))
    raw = check_binary_example(task, INPUTS, "gamble", distortions, margin=20)
    assert (raw["loss"] <= 0).all() and (raw["cert"] >= 0).all() and (raw["gain"] > 0).all()


# --- parameter recovery ------------------------------------------------------------------

RECOVERY_MODEL = "ra_prospect"
# probit scale: rho = 2 * 0.44 = 0.88, lambda = 5 * 0.36 = 1.82, tau = 30 * 0.08 = 2.42
RECOVERY_MU = {"rho": -0.15, "lambda": -0.35, "tau": -1.4}
RECOVERY_SD = {"rho": 0.2, "lambda": 0.2, "tau": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=140)
    data = as_data(sim, sim["valid"])
    return nuts_fit(RECOVERY_MODEL, data, "ra-recovery", seed=1), params


@pytest.mark.slow
def test_recovery_group_means_and_participants(recovery) -> None:  # noqa: ANN001
    idata, truth = recovery
    means = {k: float(natural(RECOVERY_MODEL, k, mu)) for k, mu in RECOVERY_MU.items()}
    correlation = check_recovery(idata, means, truth)
    assert correlation["rho"] > 0.7 and correlation["lambda"] > 0.7
