"""The gain/loss N-armed bandit models and the Kalman-filter bandit: the JAX likelihood
against plain-Python loops written from the papers' equations (Seymour et al. 2012;
Aylward et al. 2019; Daw et al. 2006), the simulator against the same loops, and
parameter recovery with real NUTS."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import jax
import numpy as np
import pytest

from cogfit.data import from_arrays
from cogfit.likelihood import trial_log_probs, trial_outputs
from cogfit.models import get_model
from cogfit.models.narm_spec import SPECS
from cogfit.names import observed_key, site_name
from cogfit.tasks import narm as task

MODELS = [spec.name for spec in SPECS]
SIGMA_O = 4.0  # Daw et al. (2006): the payoffs' sd, fixed in their Kalman filter


@contextlib.contextmanager
def enable_x64() -> Iterator[None]:
    """float64 inside (``jax.enable_x64``; ``jax.experimental``'s on older JAX)."""
    try:
        manager = jax.enable_x64(True)
    except AttributeError:
        from jax.experimental import enable_x64 as older

        manager = older()
    with manager:
        yield


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
    out = {}
    for spec in get_model(model).params:
        upper = spec.upper if spec.link == "scaled_probit" else 1.0
        out[spec.name] = rng.uniform(0.03, 0.6 if spec.upper else 0.95, n) * upper
    return out


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
    valid = rng.random((n_p, n_t)) > 0.2
    valid[0] = True
    valid[1, 30:] = False  # a shorter participant
    return columns, valid


def jax_outputs(
    model: str, params, columns, valid, n_arms: int, scan: str = "sequential", outputs=False
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """cogfit's trial log-probabilities [P, T], and (``outputs``) its per-trial outputs."""
    data = from_arrays(columns, valid, n_options=n_arms)
    m = get_model(model)
    trials = data.scan_inputs(m)
    logp = np.asarray(trial_log_probs(m, params, trials, n_arms, scan))
    if not outputs:
        return logp, {}
    out = {k: np.asarray(v) for k, v in trial_outputs(m, params, trials, n_arms).items()}
    return logp, out


#: every model with the sequential scan on 4 arms, and the affine ones with the
#: associative scan on 2 arms (where the likelihood's softmax reduces to a logistic)
CASES = [(m, "sequential", 4) for m in MODELS] + [
    (m, "associative", 2) for m in MODELS if get_model(m).linear is not None
]


@pytest.mark.parametrize(("model", "scan", "n_arms"), CASES)
def test_log_likelihood_matches_reference(model: str, scan: str, n_arms: int) -> None:
    rng = np.random.default_rng([MODELS.index(model), n_arms])
    columns, valid = random_data(model, n_arms, rng)
    params = random_params(model, valid.shape[0], rng)
    expected, probs, values = reference(model, params, columns, valid, n_arms)
    with enable_x64():
        got, out = jax_outputs(model, params, columns, valid, n_arms, scan, scan == "sequential")
    np.testing.assert_array_equal(got[~valid], 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)
    if scan == "sequential":  # the policies and values, and the default float32 precision
        np.testing.assert_allclose(np.exp(out["log_probs"]), probs, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(out["value"], values, rtol=1e-9, atol=1e-9)
        params32 = {k: v.astype(np.float32) for k, v in params.items()}
        got32, _ = jax_outputs(model, params32, columns, valid, n_arms, scan)
        np.testing.assert_allclose(got32, expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("model", ["banditNarm_lapse_decay", "bandit_kalman_filter"])
def test_masked_trials_teach_nothing(model: str) -> None:
    """Garbage in the cells of missed and padding trials changes no valid trial's score."""
    rng = np.random.default_rng(11)
    columns, valid = random_data(model, 4, rng)
    params = {k: v.astype(np.float32) for k, v in random_params(model, 6, rng).items()}
    m = get_model(model)
    trials = from_arrays(columns, valid, n_options=4).scan_inputs(m)
    noisy = dict(trials)
    for name in columns:
        junk = rng.integers(0, 4, valid.shape) if name == "choice" else 99.0
        noisy[name] = np.where(valid, trials[name], junk).astype(trials[name].dtype)
        noisy[observed_key(name)] = np.ones_like(valid)
    base = np.asarray(trial_log_probs(m, params, trials, 4))
    moved = np.asarray(trial_log_probs(m, params, noisy, 4))
    np.testing.assert_allclose(moved, base, rtol=1e-6, atol=1e-6)


def test_loss_sign_does_not_matter() -> None:
    """A loss coded -1 or +1 is the same punishment."""
    rng = np.random.default_rng(5)
    columns, valid = random_data("banditNarm_lapse", 4, rng)
    params = random_params("banditNarm_lapse", 6, rng)
    flipped = {**columns, "loss": -columns["loss"]}
    a, _ = jax_outputs("banditNarm_lapse", params, columns, valid, 4)
    b, _ = jax_outputs("banditNarm_lapse", params, flipped, valid, 4)
    np.testing.assert_allclose(a, b, rtol=1e-6)


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
    with enable_x64():
        got, _ = jax_outputs(model, params, columns, valid, 4)
    np.testing.assert_allclose(got, logp, rtol=1e-8, atol=1e-10)
    # choice frequencies: each arm's count matches its summed probability (z within 4)
    onehot = (sim["choice"][..., None] == np.arange(4)) & valid[..., None]
    p = sim["probabilities"] * valid[..., None]
    z = (onehot.sum((0, 1)) - p.sum((0, 1))) / np.sqrt((p * (1 - p)).sum((0, 1)))
    assert np.all(np.abs(z) < 4), z


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
    trials, truth = task.example(seed=1, model=model)
    outcome = ["outcome"] if model == "bandit_kalman_filter" else ["gain", "loss"]
    assert list(trials.columns) == ["participant", "trial", "choice", *outcome]
    assert list(truth.columns) == ["participant", *get_model(model).param_names]
    assert truth["participant"].nunique() == 20 and len(trials) == 20 * 200
    missed = trials["choice"].isna()
    assert 0 < missed.sum() < 0.1 * len(trials)
    assert trials.loc[missed, outcome].isna().all().all()
    assert set(trials.loc[~missed, "choice"]) == {1, 2, 3, 4}
    again, _ = task.example(seed=1, model=model)
    assert again.equals(trials)


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
    from cogfit.fit import SamplerSettings, fit

    model = request.param
    group, n_p, n_t = RECOVERY[model]
    rng = np.random.default_rng(20260101)
    params = {}
    for name, (mu, sd) in group.items():
        z = rng.standard_normal(n_p)
        params[name] = task.to_natural(model, name, mu + sd * (z - z.mean()) / z.std())
    sim = task.simulate(model, params, rng, n_trials=n_t)
    cols = ("choice", "outcome") if model == task.KALMAN else ("choice", "gain", "loss")
    data = from_arrays({k: sim[k] for k in cols}, sim["valid"], n_options=4)
    settings = SamplerSettings(chains=2, warmup=300, samples=300, seed=3, device="cpu")
    return model, fit(model, data, settings, dataset="narm-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_cover_truth(recovery: tuple) -> None:
    model, idata, params = recovery
    lines, misses = [], []
    for name, (mu, _) in RECOVERY[model][0].items():
        truth = float(task.to_natural(model, name, np.array(mu)))
        draws = idata.posterior[site_name(name, "mu_natural")].values.ravel()
        lo, hi = np.quantile(draws, [0.025, 0.975])
        est = idata.posterior[site_name(name, "theta")].mean(("chain", "draw")).values
        r = np.corrcoef(est, params[name])[0, 1]
        lines.append(
            f"{model} {name}: true {truth:.3f}, posterior mean {draws.mean():.3f} "
            f"[{lo:.3f}, {hi:.3f}], participant r = {r:.2f}"
        )
        if not lo <= truth <= hi:
            misses.append(name)
    print("\n" + "\n".join(lines))
    assert not misses, "\n".join(lines)
    assert int(idata.sample_stats["diverging"].sum()) <= 5
