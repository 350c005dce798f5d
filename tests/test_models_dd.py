"""The delay-discounting models (dd_exp, dd_hyperbolic, dd_cs): the JAX likelihood against
an independent plain-Python loop written from the papers' equations, the simulator
against the same loop, the example data, and parameter recovery with real NUTS."""

from __future__ import annotations

import math
import zlib

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
from cogfit.tasks import dd as task

MODELS = ("dd_exp", "dd_hyperbolic", "dd_cs")
INPUTS = ("delay_later", "amount_later", "delay_sooner", "amount_sooner")


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
    return uniform_params(model, ranges, n, rng)


def random_trials(rng: np.random.Generator, n_p: int = 6, n_t: int = 50) -> tuple[dict, np.ndarray]:
    """A design with immediate and delayed sooner options, random choices, missed trials
    and a shorter participant padded at the end."""
    trials = task.design(n_p, n_t, rng)
    trials["choice"] = rng.integers(0, 2, (n_p, n_t))
    valid = random_valid(rng, n_p, n_t, short=(1, 35))
    return trials, valid


def as_data(trials: dict[str, np.ndarray], valid: np.ndarray) -> TaskData:
    return from_arrays({c: trials[c] for c in (*INPUTS, "choice")}, valid)


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
    case = reference_case(model, zlib.crc32(model.encode()))  # a fixed seed per model
    assert_log_probs_match(model, *case, dtype="float64")


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_in_float32(model: str) -> None:
    """The fit's default precision agrees within float32's tolerance."""
    assert_log_probs_match(model, *reference_case(model, 5), dtype="float32")


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """Both options' probabilities and the latent values, on every trial."""
    rng = np.random.default_rng(11)
    trials, valid = random_trials(rng, n_p=4, n_t=30)
    params = random_params(model, 4, rng)
    _, log_later, values = reference(model, params, trials, valid)
    latents = {"value_later": values[0], "value_sooner": values[1]}
    check_binary_outputs(
        model, params, scan_inputs(model, trials, valid), log_later, valid, latents
    )


@pytest.mark.parametrize("model", MODELS)
def test_gradients_are_finite_at_zero_delays_and_padding(model: str) -> None:
    """Immediate options (delay 0: ``0^s``), zeroed padding cells and delays whose
    ``(r d)^s`` overflows float32 give finite gradients, in the fit's float32."""
    rng = np.random.default_rng(3)
    trials, valid = random_trials(rng)
    trials["delay_sooner"][:, :10] = 0.0
    trials["delay_later"][:, 10:12] = 1e5
    valid[:, 10:12] = True
    inputs = scan_inputs(model, trials, valid)
    params = random_params(model, valid.shape[0], rng)
    if "s" in params:
        params["r"][0], params["s"][0] = 0.9, 9.5  # (0.9 * 1e5)^9.5 overflows float32
    finite_gradients(model, params, inputs)


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
    check_binary_simulation(sim["choice"], sim["probabilities"], sim["valid"])


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (1 = later, empty when missed) whose cleaned table
    favours the true parameters over distorted ones."""
    distortions = (("k", 4.0), ("k", 0.25))
    raw = check_binary_example(task, INPUTS, "choice", distortions, margin=50)
    assert (raw["amount_later"] > raw["amount_sooner"]).all()
    assert (raw["delay_later"] > raw["delay_sooner"]).all()


# --- parameter recovery ------------------------------------------------------------------

RECOVERY_MODEL = "dd_hyperbolic"
RECOVERY_MU = {"k": -1.9, "beta": -0.8}  # probit scale: k = 0.029, beta = 5 * 0.21 = 1.06
RECOVERY_SD = {"k": 0.25, "beta": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=120)
    data = as_data(sim, sim["valid"])
    return nuts_fit(RECOVERY_MODEL, data, "dd-recovery", seed=1), params


@pytest.mark.slow
def test_recovery_group_means_and_participants(recovery) -> None:  # noqa: ANN001
    idata, truth = recovery
    means = {k: float(natural(RECOVERY_MODEL, k, mu)) for k, mu in RECOVERY_MU.items()}
    correlation = check_recovery(idata, means, truth, digits=4)
    assert correlation["k"] > 0.8
