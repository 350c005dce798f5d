"""The go/no-go family (gng_m1..gng_m4): the JAX likelihood against an independent
plain-Python loop written from Guitart-Masip et al. (2012), the simulator against the
same loop, and parameter recovery with real NUTS."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from model_checks import (
    assert_binomial,
    assert_log_probs_match,
    assert_unchanged,
    check_recovery,
    example_tables,
    finite_gradients,
    log_probs,
    nuts_fit,
    outputs64,
    random_valid,
    scrambled,
)

from cogfit.data import TaskData, from_arrays
from cogfit.likelihood import participant_log_lik, trial_log_probs
from cogfit.models import get_model, get_spec
from cogfit.runtime import precision
from cogfit.tasks import gng as task

MODELS = ("gng_m1", "gng_m2", "gng_m3", "gng_m4")


def reference(
    model: str,
    params: dict[str, np.ndarray],
    cue: np.ndarray,
    pressed: np.ndarray,
    outcome: np.ndarray,
    valid: np.ndarray,
    block_start: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per trial, along the observed history: ``logp`` (log p of the response, 0 where
    masked), ``p_go`` and the latents, by plain loops over participants and trials; every
    value starts again at 0 where ``block_start`` is True.

    Guitart-Masip et al. (2012): per cue s, Q(go,s), Q(nogo,s) and V(s) start at 0;
    W(go,s) = Q(go,s) + b + pi V(s), W(nogo,s) = Q(nogo,s); p(go) = (1-xi) *
    exp(W_go) / (exp(W_go) + exp(W_nogo)) + xi/2; then Q(a_t,s_t) and V(s_t) move a
    fraction ep towards rho * r_t (rhoRew for rewards and rhoPun for punishments in m4).
    """
    n_p, n_t = cue.shape
    out = {
        k: np.zeros((n_p, n_t))
        for k in ("logp", "p_go", "q_go", "q_nogo", "w_go", "w_nogo", "sv", "pe")
    }
    for i in range(n_p):
        xi, ep = float(params["xi"][i]), float(params["ep"][i])
        b = float(params["b"][i]) if "b" in params else 0.0
        pi = float(params["pi"][i]) if "pi" in params else 0.0
        if "rho" in params:
            rho_rew = rho_pun = float(params["rho"][i])
        else:
            rho_rew, rho_pun = float(params["rhoRew"][i]), float(params["rhoPun"][i])
        q = {(a, s): 0.0 for a in ("go", "nogo") for s in range(4)}
        v = [0.0] * 4
        for t in range(n_t):
            if block_start is not None and block_start[i, t]:
                q = {key: 0.0 for key in q}
                v = [0.0] * 4
            s = int(cue[i, t])
            w_go = q["go", s] + b + pi * v[s]
            w_nogo = q["nogo", s]
            p = (1.0 - xi) * math.exp(w_go) / (math.exp(w_go) + math.exp(w_nogo)) + xi / 2.0
            action = "go" if pressed[i, t] == 1 else "nogo"
            r = float(outcome[i, t])
            sensitivity = rho_rew if r > 0 else rho_pun if r < 0 else 0.0
            for key, value in (
                ("p_go", p),
                ("q_go", q["go", s]),
                ("q_nogo", q["nogo", s]),
                ("w_go", w_go),
                ("w_nogo", w_nogo),
                ("sv", v[s]),
                ("pe", sensitivity * r - q[action, s]),
            ):
                out[key][i, t] = value
            if not valid[i, t]:
                continue
            out["logp"][i, t] = math.log(p if action == "go" else 1.0 - p)
            q[action, s] += ep * (sensitivity * r - q[action, s])
            v[s] += ep * (sensitivity * r - v[s])
    return out


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values across each parameter's support."""
    draw = {
        "xi": lambda: rng.uniform(0.01, 0.5, n),
        "ep": lambda: rng.uniform(0.05, 0.9, n),
        "rho": lambda: rng.uniform(0.3, 8.0, n),
        "rhoRew": lambda: rng.uniform(0.3, 8.0, n),
        "rhoPun": lambda: rng.uniform(0.3, 8.0, n),
        "b": lambda: rng.normal(0.0, 1.5, n),
        "pi": lambda: rng.normal(0.0, 1.5, n),
    }
    return {name: draw[name]() for name in get_spec(model).param_names}


def random_data(rng: np.random.Generator, n_p: int = 6, n_t: int = 80) -> TaskData:
    """Random cues, responses and outcomes with missed trials and a shorter participant."""
    valid = random_valid(rng, n_p, n_t, short=(1, 50), complete=0)
    columns = {
        "cue": rng.integers(0, 4, (n_p, n_t)),
        "pressed": rng.integers(0, 2, (n_p, n_t)),
        "outcome": rng.integers(-1, 2, (n_p, n_t)).astype(float),
    }
    return from_arrays(columns, valid)


def _cells(data: TaskData) -> tuple[np.ndarray, ...]:
    t = data.trials
    return t["cue"], t["pressed"], t["outcome"], t["valid"]


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    expected = reference(model, params, *_cells(data))["logp"]
    return params, data.scan_inputs(get_model(model)), expected, data.mask


@pytest.mark.parametrize("scan", ["sequential", "associative"])
@pytest.mark.parametrize("model", MODELS)
def test_loglik_matches_reference(model: str, scan: str) -> None:
    case = reference_case(model, MODELS.index(model) + 10)
    assert_log_probs_match(model, *case, dtype="float64", scan=scan)


@pytest.mark.parametrize("scan", ["sequential", "associative"])
def test_block_resets_restart_every_cue(scan: str) -> None:
    """With ``block_reset: always`` each cue's values start afresh at a block start, even
    when the cue's own next trial comes later (per-cue sequences carry the resets over)."""
    rng = np.random.default_rng(21)
    base = random_data(rng)
    starts = np.zeros_like(base.mask)
    starts[:, [17, 18, 41]] = True  # 17 and 18: a block of one trial
    data = from_arrays(
        {k: base.trials[k] for k in ("cue", "pressed", "outcome")}, base.mask, block_start=starts
    )
    model = get_model("gng_m3").with_block_reset("always")
    params = random_params("gng_m3", data.n_participants, rng)
    expected = reference("gng_m3", params, *_cells(data), block_start=starts)["logp"]
    with precision("float64"):
        got = trial_log_probs(model, params, data.scan_inputs(model), 2, scan)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)
    no_reset = reference("gng_m3", params, *_cells(data))["logp"]
    assert np.abs(no_reset - expected).max() > 1e-3  # the resets matter here


def test_participant_chunks_match_reference() -> None:
    """The chunked likelihood (participants in chunks, per-cue rows within each) and its
    gradient against the reference and the unchunked one."""
    params, inputs, expected, _ = reference_case("gng_m4", 8)
    model = get_model("gng_m4")
    with precision("float64"):

        def total(p: dict, chunk: int) -> jnp.ndarray:
            return participant_log_lik(model, p, inputs, 2, chunk=chunk).sum()

        p64 = {k: jnp.asarray(v) for k, v in params.items()}
        chunked = participant_log_lik(model, p64, inputs, 2, chunk=4)
        np.testing.assert_allclose(np.asarray(chunked), expected.sum(1), rtol=1e-10)
        g_chunked = jax.grad(total)(p64, 4)
        g_plain = jax.grad(total)(p64, 0)
    for name in params:
        np.testing.assert_allclose(g_chunked[name], g_plain[name], rtol=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_loglik_in_float32(model: str) -> None:
    """The default precision agrees with the float64 reference to float32 rounding."""
    case = reference_case(model, 3)
    assert_log_probs_match(model, *case, dtype="float32", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", ["gng_m1", "gng_m4"])
def test_policies_and_latents_match_reference(model: str) -> None:
    rng = np.random.default_rng(5)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    ref = reference(model, params, *_cells(data))
    out = outputs64(model, params, data.scan_inputs(get_model(model)))
    mask = data.mask
    np.testing.assert_allclose(np.exp(out["log_probs"][..., 1])[mask], ref["p_go"][mask], 1e-9)
    np.testing.assert_allclose(np.exp(out["log_probs"]).sum(-1), 1.0, rtol=1e-12)
    names = {"q_go": "q_go", "q_nogo": "q_nogo", "w_go": "w_go", "w_nogo": "w_nogo"}
    names["prediction_error"] = "pe"
    if model != "gng_m1":
        names["stimulus_value"] = "sv"
    assert set(out) - {"log_probs"} == set(names)
    for latent, key in names.items():
        np.testing.assert_allclose(out[latent][mask], ref[key][mask], atol=1e-9)


def test_masked_cells_do_not_teach() -> None:
    """Garbage in masked cells changes no answered trial's probability."""
    rng = np.random.default_rng(7)
    data = random_data(rng)
    params = random_params("gng_m4", data.n_participants, rng)
    inputs = data.scan_inputs(get_model("gng_m4"))
    garbage = rng.integers(0, 4, data.mask.shape)
    junk = {"cue": garbage, "pressed": 1 - inputs["pressed"], "outcome": 99.0}
    assert_unchanged("gng_m4", params, inputs, scrambled(inputs, data.mask, junk))


def test_extreme_values_stay_finite() -> None:
    """Large weight differences and tiny lapses give finite log-probabilities."""
    rng = np.random.default_rng(8)
    data = random_data(rng, n_p=3)
    params = {
        "xi": np.array([1e-12, 0.0, 0.3]),
        "ep": np.full(3, 0.9),
        "b": np.array([80.0, -80.0, 0.0]),
        "pi": np.zeros(3),
        "rho": np.full(3, 50.0),
    }
    inputs = data.scan_inputs(get_model("gng_m3"))
    got = log_probs("gng_m3", params, inputs)
    assert np.isfinite(got).all()
    finite_gradients("gng_m3", params, inputs)  # NUTS needs these too


@pytest.mark.parametrize("model", MODELS)
def test_simulator_probabilities_match_reference(model: str) -> None:
    rng = np.random.default_rng(11)
    params = random_params(model, 5, rng)
    sim = task.simulate(model, params, rng, n_trials=120, missing_prob=0.05)
    ref = reference(model, params, sim["cue"], sim["pressed"], sim["outcome"], sim["valid"])
    np.testing.assert_allclose(sim["p_go"], ref["p_go"], rtol=1e-10)
    assert set(np.unique(sim["cue"])) == {0, 1, 2, 3}
    assert np.all(sim["pressed"][~sim["valid"]] == 0)


def test_simulated_responses_follow_their_probabilities() -> None:
    """Presses occur at the model's rate and outcomes at the task's (0.8 after the correct
    action): binomial checks at about four standard errors."""
    rng = np.random.default_rng(12)
    params = random_params("gng_m3", 200, rng)
    sim = task.simulate("gng_m3", params, rng, n_trials=120)
    p, pressed = sim["p_go"].ravel(), sim["pressed"].ravel()
    assert_binomial(pressed, p)
    cue, outcome = sim["cue"].ravel(), sim["outcome"].ravel()
    correct = np.where(task.GO_CUE[cue], pressed == 1, pressed == 0)
    better = np.where(task.WIN_CUE[cue], outcome == 1, outcome == 0)
    assert set(np.unique(outcome[task.WIN_CUE[cue]])) == {0.0, 1.0}
    assert set(np.unique(outcome[~task.WIN_CUE[cue]])) == {-1.0, 0.0}
    for is_correct, rate in ((True, 0.8), (False, 0.2)):
        assert_binomial(better[correct == is_correct], rate)


def test_example_is_raw_and_consistent() -> None:
    trials, _ = example_tables(task)
    assert list(trials.columns) == ["participant", "trial", "cue", "pressed", "outcome"]
    assert set(trials["cue"]) == {1, 2, 3, 4}
    assert set(trials["pressed"]) == {0, 1} and set(trials["outcome"]) <= {-1, 0, 1}
    assert (trials.groupby(["participant", "cue"]).size() == 60).all()


# --- parameter recovery -------------------------------------------------------------

#: the recovery's population on the unconstrained scale (mean, sd)
RECOVERY_MODEL = "gng_m3"
POPULATION = {
    "xi": (-1.8, 0.2),
    "ep": (-1.0, 0.2),
    "b": (0.6, 0.4),
    "pi": (0.5, 0.3),
    "rho": (1.4, 0.2),
}


@pytest.fixture(scope="module")
def recovery() -> tuple:
    rng = np.random.default_rng(2012)
    n_p = 24
    params = task.population_draws(POPULATION, n_p, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_trials=240)
    data = from_arrays(
        {k: sim[k] for k in ("cue", "pressed", "outcome")}, sim["valid"], n_options=2
    )
    return nuts_fit(RECOVERY_MODEL, data, "gng-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_cover_truth(recovery: tuple) -> None:
    idata, truth = recovery
    means = {k: float(task.natural(k, np.array(mu))) for k, (mu, _) in POPULATION.items()}
    check_recovery(idata, means, truth, max_divergent=9)
