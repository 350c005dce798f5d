"""The ultimatum-game models (ug_delta, ug_bayes): the JAX likelihood against an
independent plain-Python loop written from Gu et al. (2015) and Xiang et al. (2013), the
simulator against the same loop, the example data, and parameter recovery with NUTS."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager

import jax
import numpy as np
import pandas as pd
import pytest

from cogfit.data import from_arrays, task_data_from_trials
from cogfit.likelihood import trial_log_probs, trial_outputs
from cogfit.models import get_model
from cogfit.tasks import ug as task

MODELS = ("ug_delta", "ug_bayes")
SCANS = [("ug_delta", "sequential"), ("ug_delta", "associative"), ("ug_bayes", "sequential")]


def float64() -> AbstractContextManager:
    """JAX in 64-bit precision inside the block (``jax.enable_x64``; older JAX has it in
    ``jax.experimental``)."""
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # pragma: no cover - older JAX
        from jax.experimental import enable_x64 as enable
    return enable(True)


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
    return {p: rng.uniform(*ranges[p], n) for p in get_model(model).param_names}


def random_trials(
    rng: np.random.Generator, n_p: int = 6, n_t: int = 60
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offers from the norm-training schedule, random responses, missed trials and a
    shorter participant padded at the end."""
    offers = task.schedule(n_p, n_t, rng)["offer"]
    accept = rng.integers(0, 2, (n_p, n_t))
    valid = rng.random((n_p, n_t)) > 0.15
    valid[1, 45:] = False  # a shorter participant
    return offers, accept, valid


def scan_inputs(model: str, offers: np.ndarray, accept: np.ndarray, valid: np.ndarray) -> dict:
    """The likelihood's trials, with garbage offers in the masked cells: a missed or
    padding trial must teach nothing whatever its cells hold."""
    m = get_model(model)
    inputs = dict(from_arrays({"offer": offers, "accept": accept}, valid).scan_inputs(m))
    inputs["offer"] = np.where(valid, inputs["offer"], 99.0)
    return inputs


@pytest.mark.parametrize(("model", "scan"), SCANS)
def test_log_likelihood_matches_reference_in_float64(model: str, scan: str) -> None:
    rng = np.random.default_rng(MODELS.index(model))
    offers, accept, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected = reference(model, params, offers, accept, valid)["logp"]
    with float64():
        inputs = scan_inputs(model, offers, accept, valid)
        got = np.asarray(trial_log_probs(get_model(model), params, inputs, 2, scan))
    assert got.shape == valid.shape
    np.testing.assert_array_equal(got[~valid], 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("model", "scan"), SCANS)
def test_log_likelihood_in_float32(model: str, scan: str) -> None:
    """The fit's default precision agrees within float32's tolerance."""
    rng = np.random.default_rng(5)
    offers, accept, valid = random_trials(rng)
    params = random_params(model, valid.shape[0], rng)
    expected = reference(model, params, offers, accept, valid)["logp"]
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    inputs = scan_inputs(model, offers, accept, valid)
    got = np.asarray(trial_log_probs(get_model(model), p32, inputs, 2, scan))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("model", MODELS)
def test_trial_outputs_match_reference(model: str) -> None:
    """p(accept) and the latents (norm, its prediction error, utility) per answered trial."""
    rng = np.random.default_rng(11)
    offers, accept, valid = random_trials(rng, n_p=4, n_t=40)
    params = random_params(model, 4, rng)
    ref = reference(model, params, offers, accept, valid)
    m = get_model(model)
    with float64():
        out = trial_outputs(m, params, scan_inputs(model, offers, accept, valid), 2)
    assert set(out) == {"log_probs", *m.latent_names}
    close = {"rtol": 1e-9, "atol": 1e-12}
    np.testing.assert_allclose(out["log_probs"][..., 1][valid], ref["log_accept"][valid], **close)
    np.testing.assert_allclose(out["norm"][valid], ref["norm"][valid], **close)
    np.testing.assert_allclose(out["norm_prediction_error"][valid], ref["pe"][valid], **close)
    np.testing.assert_allclose(out["utility"][valid], ref["utility"][valid], **close)


def test_associative_scan_equals_sequential_on_long_sequences() -> None:
    """ug_delta's affine norm update composed in parallel agrees over 400 trials."""
    rng = np.random.default_rng(13)
    offers, accept, valid = random_trials(rng, n_p=8, n_t=400)
    valid[:3, 250:] = False
    m = get_model("ug_delta")
    p32 = {k: v.astype(np.float32) for k, v in random_params("ug_delta", 8, rng).items()}
    inputs = scan_inputs("ug_delta", offers, accept, valid)
    seq = np.asarray(trial_log_probs(m, p32, inputs, 2, "sequential"))
    par = np.asarray(trial_log_probs(m, p32, inputs, 2, "associative"))
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
    assert 0.9 < valid.mean() < 1.0  # some missed trials
    assert np.all(sim["accept"][~valid] == 0)
    se = math.sqrt(float((p[valid] * (1 - p[valid])).sum())) / valid.sum()
    assert abs(sim["accept"][valid].mean() - p[valid].mean()) < 4 * se
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):  # the responses follow p(accept) trial by trial
        cell = valid & (p >= lo) & (p < hi)
        assert abs(sim["accept"][cell].mean() - p[cell].mean()) < 0.05


def test_schedule_alternates_low_and_high_phases() -> None:
    offers = task.schedule(200, 90, np.random.default_rng(0))["offer"]
    phase_means = offers.reshape(200, 3, 30).mean(-1)
    assert np.all(np.abs(np.diff(phase_means, axis=1)) > 3)  # each switch moves the norm
    assert offers.min() >= 1 and offers.max() <= 15


def test_example_is_raw_data_the_model_reads() -> None:
    """The example is a raw file (1 = accepted, empty when missed) whose cleaned table
    favours the true parameters over distorted ones."""
    raw, truth = task.example(seed=0)
    again, _ = task.example(seed=0)
    pd.testing.assert_frame_equal(raw, again)
    assert list(raw.columns) == ["participant", "trial", "offer", "accept"]
    assert raw["participant"].nunique() == 20 and len(truth) == 20
    assert list(truth.columns) == ["participant", *get_model(task.EXAMPLE_MODEL).param_names]
    assert raw["trial"].min() == 1 and set(raw["accept"].dropna().unique()) == {0, 1}
    assert 0 < raw["accept"].isna().sum() < 0.1 * len(raw)
    cleaned = raw.assign(group="all", missed=raw["accept"].isna())
    data = task_data_from_trials(cleaned, 2)
    m = get_model(task.EXAMPLE_MODEL)
    true = {k: truth[k].to_numpy(np.float32) for k in m.param_names}

    def total(p: dict[str, np.ndarray]) -> float:
        return float(trial_log_probs(m, p, data.scan_inputs(m), 2).sum())

    for name, factor in (("alpha", 2.0), ("alpha", 0.5), ("ep", 3.0), ("ep", 0.2)):
        assert total(true) > total({**true, name: true[name] * factor}) + 10, (name, factor)


# --- parameter recovery ------------------------------------------------------------------

PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
RECOVERY_MODEL = "ug_delta"
# probit scale: alpha = 20 * 0.055 = 1.10, tau = 10 * 0.097 = 0.97, ep = 0.24
RECOVERY_MU = {"alpha": -1.6, "tau": -1.3, "ep": -0.7}
RECOVERY_SD = {"alpha": 0.2, "tau": 0.2, "ep": 0.2}


@pytest.fixture(scope="module")
def recovery():  # noqa: ANN201
    from cogfit.fit import SamplerSettings, fit

    rng = np.random.default_rng(1)
    m = get_model(RECOVERY_MODEL)
    params = task.group_params(m.spec, RECOVERY_MU, RECOVERY_SD, 24, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=90)
    data = from_arrays({"offer": sim["offer"], "accept": sim["accept"]}, sim["valid"])
    settings = SamplerSettings(chains=2, warmup=300, samples=300, seed=1, device="cpu")
    return fit(RECOVERY_MODEL, data, settings, dataset="ug-recovery"), params


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
    assert correlation["alpha"] > 0.5 and correlation["tau"] > 0.5
