"""The gain/loss N-armed bandit models and the Kalman-filter bandit: the JAX likelihood
against plain-Python loops written from the papers' equations (Seymour et al. 2012;
Aylward et al. 2019; Daw et al. 2006), the simulator against the same loops, and
parameter recovery with real NUTS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_checks import (
    assert_choices_follow,
    assert_log_probs_match,
    assert_unchanged,
    check_recovery,
    example_tables,
    nuts_fit,
    outputs64,
    params_by_link,
    random_valid,
    scan_cases,
    scrambled,
    standardised,
)

from cogfit.data import from_arrays
from cogfit.models import get_model
from cogfit.models.narm_spec import SPECS
from cogfit.names import observed_key
from cogfit.tasks import narm as task

MODELS = [spec.name for spec in SPECS]
SIGMA_O = 4.0  # Daw et al. (2006): the payoffs' sd, fixed in their Kalman filter


# ---- plain-Python references, from the equations -----------------------------------------


def narm_rule(model: str, p: dict[str, float]) -> tuple[float, ...]:
    """(chosen rates rew/pun, unchosen forgetting rates rew/pun, R, P, xi) of one
    participant, as each model is described (hBayesDM's parameter lists)."""
    if model == "banditNarm_4par":
        return p["Arew"], p["Apun"], p["Arew"], p["Apun"], p["R"], p["P"], 0.0
    if model == "banditNarm_lapse":
        return p["Arew"], p["Apun"], p["Arew"], p["Apun"], p["R"], p["P"], p["xi"]
    if model == "banditNarm_lapse_decay":  # unchosen values decay at d instead
        return p["Arew"], p["Apun"], p["d"], p["d"], p["R"], p["P"], p["xi"]
    if model == "banditNarm_singleA_lapse":
        return p["A"], p["A"], p["A"], p["A"], p["R"], p["P"], p["xi"]
    if model == "banditNarm_2par_lapse":  # no sensitivities: raw outcomes
        return p["Arew"], p["Apun"], p["Arew"], p["Apun"], 1.0, 1.0, p["xi"]
    raise AssertionError(model)


def reference_narm(
    model: str, params: dict[str, np.ndarray], choice, gain, loss, valid, n_arms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log p(choice) [P, T] (0 when not valid), the choice probabilities and the summed
    values [P, T, K] before every trial."""
    n_p, n_t = choice.shape
    logp = np.zeros((n_p, n_t))
    probs = np.zeros((n_p, n_t, n_arms))
    values = np.zeros((n_p, n_t, n_arms))
    for i in range(n_p):
        a_r, a_p, f_r, f_p, r_s, p_s, xi = narm_rule(model, {k: v[i] for k, v in params.items()})
        q_rew = [0.0] * n_arms
        q_pun = [0.0] * n_arms
        for t in range(n_t):
            total = [q_rew[k] + q_pun[k] for k in range(n_arms)]
            top = max(total)
            e = [math.exp(x - top) for x in total]
            pr = [(1 - xi) * x / sum(e) + xi / n_arms for x in e]
            probs[i, t], values[i, t] = pr, total
            if not valid[i, t]:
                continue
            c = int(choice[i, t])
            logp[i, t] = math.log(pr[c])
            for k in range(n_arms):
                if k == c:
                    q_rew[k] += a_r * (r_s * gain[i, t] - q_rew[k])
                    q_pun[k] += a_p * (-p_s * abs(loss[i, t]) - q_pun[k])
                else:
                    q_rew[k] += f_r * (0.0 - q_rew[k])
                    q_pun[k] += f_p * (0.0 - q_pun[k])
    return logp, probs, values


def reference_kalman(
    params: dict[str, np.ndarray], choice, outcome, valid, n_arms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daw et al. (2006): log p(choice) [P, T], choice probabilities and expected payoffs
    [P, T, K] before every trial."""
    n_p, n_t = choice.shape
    logp = np.zeros((n_p, n_t))
    probs = np.zeros((n_p, n_t, n_arms))
    values = np.zeros((n_p, n_t, n_arms))
    for i in range(n_p):
        lam, theta, beta = params["lambda"][i], params["theta"][i], params["beta"][i]
        mean = [params["mu0"][i]] * n_arms
        var = [params["sigma0"][i] ** 2] * n_arms
        for t in range(n_t):
            top = max(beta * m for m in mean)
            e = [math.exp(beta * m - top) for m in mean]
            probs[i, t] = [x / sum(e) for x in e]
            values[i, t] = mean
            if not valid[i, t]:
                continue
            c = int(choice[i, t])
            logp[i, t] = math.log(probs[i, t, c])
            k = var[c] / (var[c] + SIGMA_O**2)
            mean[c] = mean[c] + k * (outcome[i, t] - mean[c])
            var[c] = (1 - k) * var[c]
            for j in range(n_arms):
                mean[j] = lam * mean[j] + (1 - lam) * theta
                var[j] = lam**2 * var[j] + params["sigmaD"][i] ** 2
    return logp, probs, values


def reference(model: str, params, columns: dict[str, np.ndarray], valid, n_arms: int):
    if model == "bandit_kalman_filter":
        return reference_kalman(params, columns["choice"], columns["outcome"], valid, n_arms)
    return reference_narm(
        model, params, columns["choice"], columns["gain"], columns["loss"], valid, n_arms
    )


# ---- data ----------------------------------------------------------------------------------


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values well inside each parameter's bounds."""
    return params_by_link(model, n, rng, probit=(0.03, 0.95), scaled_probit=(0.03, 0.6))


def random_data(
    model: str, n_arms: int, rng: np.random.Generator, n_p: int = 6, n_t: int = 50
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Random choices and outcomes (losses coded with either sign), ~20% missed trials and
    a participant who stops early (padding)."""
    choice = rng.integers(0, n_arms, (n_p, n_t))
    if model == "bandit_kalman_filter":
        columns = {"choice": choice, "outcome": rng.integers(1, 101, (n_p, n_t)).astype(float)}
    else:
        columns = {
            "choice": choice,
            "gain": rng.choice([0.0, 0.0, 1.0, 2.5], (n_p, n_t)),
            "loss": rng.choice([0.0, 0.0, -1.0, 1.0, -0.5], (n_p, n_t)),
        }
    valid = random_valid(rng, n_p, n_t, short=(1, 30), missed=0.2, complete=0)
    return columns, valid


def scan_inputs(model: str, columns: dict[str, np.ndarray], valid: np.ndarray, n_arms: int):
    return from_arrays(columns, valid, n_options=n_arms).scan_inputs(get_model(model))


#: every model with the sequential scan on 4 arms, and the affine ones with the
#: associative scan on 2 arms (where the likelihood's softmax reduces to a logistic)
CASES = [(m, scan, 4 if scan == "sequential" else 2) for scan, m in scan_cases(MODELS)]


@pytest.mark.parametrize(("model", "scan", "n_arms"), CASES)
def test_log_likelihood_matches_reference(model: str, scan: str, n_arms: int) -> None:
    rng = np.random.default_rng([MODELS.index(model), n_arms])
    columns, valid = random_data(model, n_arms, rng)
    params = random_params(model, valid.shape[0], rng)
    expected, probs, values = reference(model, params, columns, valid, n_arms)
    inputs = scan_inputs(model, columns, valid, n_arms)
    close = {"n_options": n_arms, "rtol": 1e-9, "atol": 1e-10}
    assert_log_probs_match(
        model, params, inputs, expected, valid, dtype="float64", scan=scan, **close
    )
    if scan == "sequential":  # the policies and values, and the default float32 precision
        out = outputs64(model, params, inputs, n_arms)
        np.testing.assert_allclose(np.exp(out["log_probs"]), probs, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(out["value"], values, rtol=1e-9, atol=1e-9)
        close32 = {"n_options": n_arms, "rtol": 2e-4, "atol": 2e-4}
        assert_log_probs_match(model, params, inputs, expected, valid, dtype="float32", **close32)


@pytest.mark.parametrize("model", ["banditNarm_lapse_decay", "bandit_kalman_filter"])
def test_masked_trials_teach_nothing(model: str) -> None:
    """Garbage in the cells of missed and padding trials changes no valid trial's score."""
    rng = np.random.default_rng(11)
    columns, valid = random_data(model, 4, rng)
    params = random_params(model, 6, rng)
    trials = scan_inputs(model, columns, valid, 4)
    junk = {name: rng.integers(0, 4, valid.shape) if name == "choice" else 99.0 for name in columns}
    noisy = scrambled(trials, valid, junk)
    noisy.update({observed_key(name): np.ones_like(valid) for name in columns})
    assert_unchanged(model, params, trials, noisy, 4)


def test_loss_sign_does_not_matter() -> None:
    """A loss coded -1 or +1 is the same punishment."""
    rng = np.random.default_rng(5)
    columns, valid = random_data("banditNarm_lapse", 4, rng)
    params = random_params("banditNarm_lapse", 6, rng)
    flipped = {**columns, "loss": -columns["loss"]}
    a = scan_inputs("banditNarm_lapse", columns, valid, 4)
    b = scan_inputs("banditNarm_lapse", flipped, valid, 4)
    assert_unchanged("banditNarm_lapse", params, b, a, 4, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("model", MODELS)
def test_simulator_follows_the_reference(model: str) -> None:
    """The simulator's choice probabilities are the reference's on the simulated history,
    the JAX likelihood scores its choices alike, and the choices follow the probabilities."""
    rng = np.random.default_rng(3)
    params = task.draw_params(model, 8, rng)
    sim = task.simulate(model, params, rng, n_trials=120, missing_prob=0.05)
    valid = sim["valid"]
    assert (sim["choice"][~valid] == task.MISSED).all()
    cols = ["choice", "outcome"] if model == "bandit_kalman_filter" else ["choice", "gain", "loss"]
    columns = {k: sim[k] for k in cols}
    logp, probs, _ = reference(model, params, columns, valid, 4)
    np.testing.assert_allclose(sim["probabilities"], probs, rtol=1e-9, atol=1e-12)
    inputs = scan_inputs(model, columns, valid, 4)
    close = {"n_options": 4, "rtol": 1e-8, "atol": 1e-10}
    assert_log_probs_match(model, params, inputs, logp, valid, dtype="float64", **close)
    # choice frequencies: each arm's count matches its summed probability (z within 4)
    assert_choices_follow(sim["choice"], sim["probabilities"], valid)


def test_simulated_outcomes_follow_the_task() -> None:
    rng = np.random.default_rng(8)
    params = task.draw_params("banditNarm_4par", 30, rng)
    sim = task.simulate("banditNarm_4par", params, rng, n_trials=300)
    valid = sim["valid"]
    assert set(np.unique(sim["gain"][valid])) <= {0.0, 1.0}
    assert set(np.unique(sim["loss"][valid])) <= {0.0, -1.0}
    rows, cols = np.nonzero(valid)
    c = sim["choice"][rows, cols]
    assert abs(sim["gain"][valid].mean() - sim["reward_prob"][rows, cols, c].mean()) < 0.02
    assert abs(-sim["loss"][valid].mean() - sim["punish_prob"][rows, cols, c].mean()) < 0.02
    assert (sim["reward_prob"] >= 0.1).all() and (sim["reward_prob"] <= 0.9).all()
    kal = task.simulate("bandit_kalman_filter", task.draw_params(task.KALMAN, 5, rng), rng)
    pays = kal["outcome"][kal["valid"]]
    assert pays.min() >= 1 and pays.max() <= 100 and np.all(pays == np.round(pays))


@pytest.mark.parametrize("model", ["banditNarm_lapse", "bandit_kalman_filter"])
def test_example_is_a_raw_file(model: str) -> None:
    trials, _ = example_tables(task, seed=1, model=model)
    outcome = ["outcome"] if model == "bandit_kalman_filter" else ["gain", "loss"]
    assert list(trials.columns) == ["participant", "trial", "choice", *outcome]
    assert len(trials) == 20 * 200
    missed = trials["choice"].isna()
    assert 0 < missed.sum() < 0.1 * len(trials)
    assert trials.loc[missed, outcome].isna().all().all()
    assert set(trials.loc[~missed, "choice"]) == {1, 2, 3, 4}


# ---- parameter recovery --------------------------------------------------------------------

#: per model: the group means and sds on the unconstrained scale, participants, trials.
#: banditNarm_4par: Arew 0.31, Apun 0.21, R 5.9, P 5.9; the Kalman filter near Daw et
#: al.'s (2006) fits: lambda 0.93, theta 50, beta 0.2, mu0 60, sigma0 5, sigmaD 3
RECOVERY = {
    "banditNarm_4par": (
        {"Arew": (-0.5, 0.3), "Apun": (-0.8, 0.3), "R": (-0.85, 0.25), "P": (-0.85, 0.25)},
        24,
        200,
    ),
    "bandit_kalman_filter": (
        {
            "lambda": (1.5, 0.3),
            "theta": (0.0, 0.2),
            "beta": (-0.85, 0.25),
            "mu0": (0.25, 0.2),
            "sigma0": (-0.45, 0.25),
            "sigmaD": (-0.85, 0.25),
        },
        24,
        200,
    ),
}


@pytest.fixture(scope="module", params=sorted(RECOVERY))
def recovery(request: pytest.FixtureRequest) -> tuple:
    """A real NUTS fit of data simulated from known group parameters. The participants'
    standard-normal offsets are standardised, so the sample's group means are the true
    ones and a miss measures the fit, not the draw."""
    model = request.param
    group, n_p, n_t = RECOVERY[model]
    rng = np.random.default_rng(20260101)
    draws = standardised(rng, group, n_p)
    params = {name: task.to_natural(model, name, x) for name, x in draws.items()}
    sim = task.simulate(model, params, rng, n_trials=n_t)
    cols = ("choice", "outcome") if model == task.KALMAN else ("choice", "gain", "loss")
    data = from_arrays({k: sim[k] for k in cols}, sim["valid"], n_options=4)
    return model, nuts_fit(model, data, "narm-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_cover_truth(recovery: tuple) -> None:
    model, idata, params = recovery
    group = RECOVERY[model][0]
    means = {k: float(task.to_natural(model, k, np.array(mu))) for k, (mu, _) in group.items()}
    check_recovery(idata, means, params, label=f"{model} ", max_divergent=5)
