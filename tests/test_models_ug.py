"""The ultimatum-game models (ug_delta, ug_bayes): the JAX likelihood against an
independent plain-Python loop written from Gu et al. (2015) and Xiang et al. (2013), the
simulator against the same loop, the example data, and parameter recovery with NUTS."""

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
    log_probs,
    natural,
    nuts_fit,
    random_valid,
    scrambled,
    uniform_params,
)

from cogfit.data import from_arrays
from cogfit.models import get_model
from cogfit.tasks import ug as task

MODELS = ("ug_delta", "ug_bayes")
SCANS = [("ug_delta", "sequential"), ("ug_delta", "associative"), ("ug_bayes", "sequential")]


def reference(
    model: str, params: dict[str, np.ndarray], offers: np.ndarray, accept: np.ndarray, valid
) -> dict[str, np.ndarray]:
    """Per answered trial (0 elsewhere), one trial at a time: ``logp`` (log p of the
    response), ``log_accept``, and the latents ``norm`` (before the trial),
    ``norm_prediction_error`` and ``utility``, [P, T] each.

    ug_delta (Gu et al. 2015): the norm starts at 10, the offer is judged against it, then
    f <- f + ep (x - f). ug_bayes (Xiang et al. 2013): a normal-inverse-chi-squared belief
    with mean 10 and count 4 (hBayesDM's prior) is first updated with the offer,
    k' = k + 1 and mu' = (k mu + x) / k', and the offer is judged against mu'. A missed
    trial teaches nothing.
    """
    n_p, n_t = offers.shape
    out = {k: np.zeros((n_p, n_t)) for k in ("logp", "log_accept", "norm", "pe", "utility")}
    for i in range(n_p):
        alpha, tau = float(params["alpha"][i]), float(params["tau"][i])
        beta = float(params["beta"][i]) if "beta" in params else 0.0
        norm, count = 10.0, 4.0
        for t in range(n_t):
            if not valid[i, t]:
                continue
            x = float(offers[i, t])
            if model == "ug_bayes":
                new_count = count + 1.0
                judged = (count * norm + x) / new_count
            else:
                judged = norm
            utility = x - alpha * max(judged - x, 0.0) - beta * max(x - judged, 0.0)
            log_accept = -math.log1p(math.exp(-tau * utility))
            log_reject = -math.log1p(math.exp(tau * utility))
            out["logp"][i, t] = log_accept if accept[i, t] == 1 else log_reject
            out["log_accept"][i, t] = log_accept
            out["norm"][i, t], out["pe"][i, t], out["utility"][i, t] = norm, x - norm, utility
            if model == "ug_bayes":
                norm, count = judged, new_count
            else:
                norm = norm + float(params["ep"][i]) * (x - norm)
    return out


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Values inside each parameter's support."""
    ranges = {"alpha": (0.1, 4.0), "beta": (0.1, 3.0), "tau": (0.2, 3.0), "ep": (0.05, 0.9)}
    return uniform_params(model, ranges, n, rng)


def random_trials(
    rng: np.random.Generator, n_p: int = 6, n_t: int = 60
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offers from the norm-training schedule, random responses, missed trials and a
    shorter participant padded at the end."""
    offers = task.schedule(n_p, n_t, rng)["offer"]
    accept = rng.integers(0, 2, (n_p, n_t))
    valid = random_valid(rng, n_p, n_t, short=(1, 45))
    return offers, accept, valid


def scan_inputs(model: str, offers: np.ndarray, accept: np.ndarray, valid: np.ndarray) -> dict:
    """The likelihood's trials, with garbage offers in the masked cells: a missed or
    padding trial must teach nothing whatever its cells hold."""
    m = get_model(model)
    inputs = from_arrays({"offer": offers, "accept": accept}, valid).scan_inputs(m)
    return scrambled(inputs, valid, {"offer": 99.0})


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    offers, accept, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected = reference(model, params, offers, accept, valid)["logp"]
    return params, scan_inputs(model, offers, accept, valid), expected, valid


@pytest.mark.parametrize(("model", "scan"), SCANS)
def test_log_likelihood_matches_reference_in_float64(model: str, scan: str) -> None:
    case = reference_case(model, MODELS.index(model))
    assert_log_probs_match(model, *case, dtype="float64", scan=scan)


@pytest.mark.parametrize(("model", "scan"), SCANS)
def test_log_likelihood_in_float32(model: str, scan: str) -> None:
    """The fit's default precision agrees within float32's tolerance."""
    assert_log_probs_match(model, *reference_case(model, 5), dtype="float32", scan=scan)


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """p(accept) and the latents (norm, its prediction error, utility) per answered trial."""
    rng = np.random.default_rng(11)
    offers, accept, valid = random_trials(rng, n_p=4, n_t=40)
    params = random_params(model, 4, rng)
    ref = reference(model, params, offers, accept, valid)
    names = {"norm": "norm", "norm_prediction_error": "pe", "utility": "utility"}
    latents = {latent: ref[key] for latent, key in names.items()}
    inputs = scan_inputs(model, offers, accept, valid)
    check_binary_outputs(model, params, inputs, ref["log_accept"], valid, latents, atol=1e-12)


def test_associative_scan_equals_sequential_on_long_sequences() -> None:
    """ug_delta's affine norm update composed in parallel agrees over 400 trials."""
    rng = np.random.default_rng(13)
    offers, accept, valid = random_trials(rng, n_p=8, n_t=400)
    valid[:3, 250:] = False
    params = random_params("ug_delta", 8, rng)
    inputs = scan_inputs("ug_delta", offers, accept, valid)
    seq = log_probs("ug_delta", params, inputs, scan="sequential")
    par = log_probs("ug_delta", params, inputs, scan="associative")
    np.testing.assert_allclose(par, seq, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's p(accept) and norms are the reference's along the simulated
    history, and its responses follow p(accept)."""
    rng = np.random.default_rng(21)
    n_p, n_t = 40, 150
    params = random_params(model, n_p, rng)
    sim = task.simulate(model, params, rng, n_trials=n_t)
    valid, p = sim["valid"], sim["probabilities"]
    ref = reference(model, params, sim["offer"], sim["accept"], valid)
    np.testing.assert_allclose(p[valid], np.exp(ref["log_accept"][valid]), rtol=1e-10)
    np.testing.assert_allclose(sim["norm"][valid], ref["norm"][valid], rtol=1e-12)
    check_binary_simulation(sim["accept"], p, valid)


def test_schedule_alternates_low_and_high_phases() -> None:
    offers = task.schedule(200, 90, np.random.default_rng(0))["offer"]
    phase_means = offers.reshape(200, 3, 30).mean(-1)
    assert np.all(np.abs(np.diff(phase_means, axis=1)) > 3)  # each switch moves the norm
    assert offers.min() >= 1 and offers.max() <= 15


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (1 = accepted, empty when missed) whose cleaned table
    favours the true parameters over distorted ones."""
    distortions = (("alpha", 2.0), ("alpha", 0.5), ("ep", 3.0), ("ep", 0.2))
    check_binary_example(task, ("offer",), "accept", distortions, margin=10)


# --- parameter recovery ------------------------------------------------------------------

RECOVERY_MODEL = "ug_delta"
# probit scale: alpha = 20 * 0.055 = 1.10, tau = 10 * 0.097 = 0.97, ep = 0.24
RECOVERY_MU = {"alpha": -1.6, "tau": -1.3, "ep": -0.7}
RECOVERY_SD = {"alpha": 0.2, "tau": 0.2, "ep": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=90)
    data = from_arrays({"offer": sim["offer"], "accept": sim["accept"]}, sim["valid"])
    return nuts_fit(RECOVERY_MODEL, data, "ug-recovery", seed=1), params


@pytest.mark.slow
def test_recovery_group_means_and_participants(recovery) -> None:  # noqa: ANN001
    idata, truth = recovery
    means = {k: float(natural(RECOVERY_MODEL, k, mu)) for k, mu in RECOVERY_MU.items()}
    correlation = check_recovery(idata, means, truth)
    assert correlation["alpha"] > 0.5 and correlation["tau"] > 0.5
