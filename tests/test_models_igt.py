"""The Iowa gambling task family (igt_pvl_delta, igt_pvl_decay, igt_vpp, igt_orl): the JAX
likelihood against a plain-Python loop written from the papers' equations, the NumPy
simulator against the same loop, the example data, and parameter recovery with NUTS."""

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
    finite_gradients,
    natural,
    nuts_fit,
    outputs64,
    params_by_link,
    random_valid,
    scrambled,
)

from cogfit.data import TaskData, from_arrays
from cogfit.models import get_model
from cogfit.tasks import igt as task

MODELS = ("igt_pvl_delta", "igt_pvl_decay", "igt_vpp", "igt_orl")
N_DECKS = 4


# ---------------------------------------------------------------------------------------
# the reference: one participant, trial by trial, from the papers' equations
# ---------------------------------------------------------------------------------------


def prospect_utility(x: float, alpha: float, lam: float) -> float:
    """Ahn et al. (2008), eq. of the prospect utility: x^alpha for gains, -lambda|x|^alpha."""
    if x >= 0:
        return x**alpha
    return -lam * (-x) ** alpha


def softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    s = sum(e)
    return [v / s for v in e]


def reference_participant(
    model: str,
    p: dict[str, float],
    choices: np.ndarray,
    gains: np.ndarray,
    losses: np.ndarray,
    valid: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per trial: ``logp`` of the choice (0 where not valid), ``probs`` of every deck and
    the traces before the trial (``ev``, ``ef``, ``ps``), the ``utility`` of its outcome."""
    n_t = len(choices)
    ev, ef, ps = [0.0] * N_DECKS, [0.0] * N_DECKS, [0.0] * N_DECKS
    out = {
        "logp": np.zeros(n_t),
        "probs": np.zeros((n_t, N_DECKS)),
        "ev": np.zeros((n_t, N_DECKS)),
        "ef": np.zeros((n_t, N_DECKS)),
        "ps": np.zeros((n_t, N_DECKS)),
        "utility": np.zeros(n_t),
    }
    for t in range(n_t):
        out["ev"][t], out["ef"][t], out["ps"][t] = ev, ef, ps
        if model == "igt_orl":  # Haines et al. (2018): V = EV + betaF EF + betaP PS
            logits = [ev[j] + p["betaF"] * ef[j] + p["betaP"] * ps[j] for j in range(N_DECKS)]
        else:
            theta = 3.0 ** p["cons"] - 1.0  # Ahn et al. (2008): trial-independent consistency
            if model == "igt_vpp":  # Worthy et al. (2013): V = w Ev + (1 - w) P
                logits = [theta * (p["w"] * ev[j] + (1.0 - p["w"]) * ps[j]) for j in range(N_DECKS)]
            else:
                logits = [theta * ev[j] for j in range(N_DECKS)]
        probs = softmax(logits)
        out["probs"][t] = probs
        x = float(gains[t]) - abs(float(losses[t]))  # net outcome; the loss by magnitude
        out["utility"][t] = (
            x if model == "igt_orl" else prospect_utility(x, p["alpha"], p["lambda"])
        )
        if not valid[t]:
            continue  # a missed trial: no choice, no learning
        c = int(choices[t])
        out["logp"][t] = math.log(probs[c])
        u = out["utility"][t]
        if model == "igt_pvl_delta":
            ev[c] = ev[c] + p["A"] * (u - ev[c])
        elif model == "igt_pvl_decay":  # every deck decays, the chosen one adds u
            ev = [p["A"] * ev[j] + (u if j == c else 0.0) for j in range(N_DECKS)]
        elif model == "igt_vpp":
            ev[c] = ev[c] + p["A"] * (u - ev[c])
            bump = p["epP"] if x >= 0 else p["epN"]
            ps = [p["K"] * ps[j] + (bump if j == c else 0.0) for j in range(N_DECKS)]
        else:  # ORL
            a_chosen = p["Arew"] if x >= 0 else p["Apun"]
            a_fictive = p["Apun"] if x >= 0 else p["Arew"]
            sgn = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
            ev[c] = ev[c] + a_chosen * (x - ev[c])
            new_ef = []
            for j in range(N_DECKS):
                if j == c:
                    new_ef.append(ef[j] + a_chosen * (sgn - ef[j]))
                else:  # fictive: C = 3 alternatives share the opposite sign
                    new_ef.append(ef[j] + a_fictive * (-sgn / (N_DECKS - 1) - ef[j]))
            ef = new_ef
            k_decay = 3.0 ** p["K"] - 1.0
            ps = [(1.0 if j == c else ps[j]) / (1.0 + k_decay) for j in range(N_DECKS)]
    return out


def reference(
    model: str,
    params: dict[str, np.ndarray],
    choices: np.ndarray,
    gains: np.ndarray,
    losses: np.ndarray,
    valid: np.ndarray,
) -> dict[str, np.ndarray]:
    """:func:`reference_participant` for every participant, stacked to [P, T, ...]."""
    rows = [
        reference_participant(
            model,
            {k: float(v[i]) for k, v in params.items()},
            choices[i],
            gains[i],
            losses[i],
            valid[i],
        )
        for i in range(choices.shape[0])
    ]
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


# ---------------------------------------------------------------------------------------
# random data
# ---------------------------------------------------------------------------------------


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values inside each parameter's support."""
    ranges = {"probit": (0.05, 0.95), "scaled_probit": (0.05, 0.6)}
    return params_by_link(model, n, rng, **ranges, identity_sd=1.5)


def random_trials(
    rng: np.random.Generator, n_p: int = 6, n_t: int = 60
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Choices, gains, signed losses (some coded positive, some negative), and the valid
    mask with missed trials and a participant padded at the end. Net outcomes include
    exact zeros (gain = |loss|), gains and losses."""
    choices = rng.integers(0, N_DECKS, (n_p, n_t))
    gains = rng.choice([0.5, 1.0, 0.0], (n_p, n_t), p=[0.45, 0.45, 0.1])
    losses = -rng.choice([0.0, 0.5, 1.0, 2.5, 12.5], (n_p, n_t), p=[0.5, 0.2, 0.1, 0.1, 0.1])
    losses[1] = -losses[1]  # participant 1 codes losses as positive numbers
    gains[2, :10], losses[2, :10] = 0.5, -0.5  # net outcome exactly 0
    valid = random_valid(rng, n_p, n_t, short=(-1, 2 * n_t // 3), complete=0)
    return choices, gains, losses, valid


def task_data(
    choices: np.ndarray,
    gains: np.ndarray,
    losses: np.ndarray,
    valid: np.ndarray,
    n_options: int = N_DECKS,
) -> TaskData:
    """The columns as the likelihood reads them (masked cells zeroed)."""
    return from_arrays(
        {"choice": choices, "gain": gains, "loss": losses}, valid, n_options=n_options
    )


# ---------------------------------------------------------------------------------------
# the likelihood against the reference
# ---------------------------------------------------------------------------------------


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    choices, gains, losses, valid = random_trials(rng)
    params = random_params(model, choices.shape[0], rng)
    expected = reference(model, params, choices, gains, losses, valid)["logp"]
    inputs = task_data(choices, gains, losses, valid).scan_inputs(get_model(model))
    return params, inputs, expected, valid


@pytest.mark.parametrize("scan", ["sequential", "associative"])
@pytest.mark.parametrize("model", MODELS)
def test_loglik_matches_reference(model: str, scan: str) -> None:
    case = reference_case(model, MODELS.index(model))
    close = {"n_options": 4, "rtol": 1e-8, "atol": 1e-10}
    assert_log_probs_match(model, *case, dtype="float64", scan=scan, **close)


@pytest.mark.parametrize("model", MODELS)
def test_loglik_in_float32(model: str) -> None:
    """The default precision agrees with the loop to float32's accuracy."""
    case = reference_case(model, 40 + MODELS.index(model))
    assert_log_probs_match(model, *case, dtype="float32", n_options=4, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model", MODELS)
def test_latents_match_reference(model: str) -> None:
    """Every deck's probability and the reported traces, along the observed history."""
    rng = np.random.default_rng(10 + MODELS.index(model))
    choices, gains, losses, valid = random_trials(rng, n_p=4, n_t=40)
    params = random_params(model, choices.shape[0], rng)
    ref = reference(model, params, choices, gains, losses, valid)
    got = outputs64(model, params, task_data(choices, gains, losses, valid).trials, 4)
    close = {"rtol": 1e-8, "atol": 1e-10}
    np.testing.assert_allclose(np.exp(got["log_probs"]), ref["probs"], **close)
    np.testing.assert_allclose(got["ev"], ref["ev"], **close)
    # the trial's own quantities only where it has data (masked cells are zeroed)
    chosen = np.take_along_axis(ref["ev"], choices[..., None], -1)[..., 0]
    np.testing.assert_allclose(got["ev_chosen"][valid], chosen[valid], **close)
    if "utility" in got:
        np.testing.assert_allclose(got["utility"][valid], ref["utility"][valid], **close)
    if "prediction_error" in got:
        pe = (ref["utility"] - chosen)[valid]
        np.testing.assert_allclose(got["prediction_error"][valid], pe, **close)
    if "ef" in got:
        np.testing.assert_allclose(got["ef"], ref["ef"], **close)
    if "persev" in got:
        np.testing.assert_allclose(got["persev"], ref["ps"], **close)
    if "value" in got:  # the logits: the log-probabilities up to a constant per trial
        shifted = got["value"] - got["value"].mean(-1, keepdims=True)
        logp = np.log(ref["probs"])
        np.testing.assert_allclose(shifted, logp - logp.mean(-1, keepdims=True), **close)


@pytest.mark.parametrize("model", MODELS)
def test_masked_trials_and_loss_sign_do_not_matter(model: str) -> None:
    """Garbage in masked cells changes nothing, nor does coding losses as positive; the
    dataset's n_options does not resize the four decks."""
    rng = np.random.default_rng(3)
    choices, gains, losses, valid = random_trials(rng)
    params = random_params(model, 6, rng)
    trials = task_data(choices, gains, losses, valid).trials
    noisy = task_data(
        np.where(valid, choices, 3 - choices), gains, np.abs(losses), valid, n_options=2
    )
    junk = {"choice": 3, "gain": 7.0, "loss": -9.0}
    assert_unchanged(
        model, params, trials, scrambled(noisy.trials, valid, junk), 4, changed_options=2
    )


@pytest.mark.parametrize("model", MODELS)
def test_gradients_are_finite_at_zero_outcomes(model: str) -> None:
    """|x|^alpha at a zero net outcome must not poison the gradient (NUTS needs it)."""
    rng = np.random.default_rng(5)
    choices, gains, losses, valid = random_trials(rng, n_p=3, n_t=30)
    gains[:, ::3], losses[:, ::3] = 0.0, 0.0  # many exact zeros
    trials = task_data(choices, gains, losses, valid).trials
    finite_gradients(model, random_params(model, 3, rng), trials, 4)


# ---------------------------------------------------------------------------------------
# the simulator
# ---------------------------------------------------------------------------------------


def test_deck_schedule() -> None:
    """Every block of ten cards of a deck holds the classic schedule's payoffs: A and B
    net -250, C and D +250 (raw units); B and D lose once per block."""
    gains, losses = task.deck_payoffs(3, 30, np.random.default_rng(0), scale=1.0)
    assert gains.shape == losses.shape == (3, 4, 30)
    blocks = (gains + losses).reshape(3, 4, 3, 10).sum(-1)
    np.testing.assert_allclose(blocks[:, :2], -250.0)
    np.testing.assert_allclose(blocks[:, 2:], 250.0)
    n_losses = (losses < 0).reshape(3, 4, 3, 10).sum(-1)
    assert (n_losses[:, [0, 2]] == 5).all() and (n_losses[:, [1, 3]] == 1).all()
    assert not np.array_equal(losses[0, 0, :10], losses[0, 0, 10:20])  # shuffled per block


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's choice probabilities are the reference's on the simulated history,
    and its choices follow them (counts within 4 sd of the summed probabilities)."""
    rng = np.random.default_rng(20 + MODELS.index(model))
    params = random_params(model, 40, rng)
    sim = task.simulate(model, params, rng, n_trials=100, missing_prob=0.05)
    valid = sim["valid"]
    assert (sim["choice"][~valid] == task.MISSED).all()
    assert set(np.unique(sim["choice"][valid])) <= {0, 1, 2, 3}
    assert (sim["gain"] >= 0).all() and (sim["loss"] <= 0).all()
    ref = reference(model, params, sim["choice"], sim["gain"], sim["loss"], valid)
    np.testing.assert_allclose(sim["probabilities"], ref["probs"], rtol=1e-9, atol=1e-12)
    assert_choices_follow(sim["choice"], sim["probabilities"], valid)


def test_simulator_draws_cards_in_order() -> None:
    """The k-th pick of a deck pays that deck's k-th card; missed trials draw none."""
    rng = np.random.default_rng(8)
    params = random_params("igt_pvl_delta", 5, rng)
    state = rng.bit_generator.state
    sim = task.simulate("igt_pvl_delta", params, rng, n_trials=80, missing_prob=0.1)
    rng.bit_generator.state = state  # the same stream: the same deck schedule first
    gains, losses = task.deck_payoffs(5, 80, rng)
    for p in range(5):
        for d in range(N_DECKS):
            picks = sim["choice"][p] == d
            n = int(picks.sum())
            np.testing.assert_allclose(sim["gain"][p, picks], gains[p, d, :n])
            np.testing.assert_allclose(sim["loss"][p, picks], losses[p, d, :n])


def test_simulator_refuses_wrong_parameters() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="takes parameters"):
        task.simulate("igt_orl", {"A": np.ones(2)}, rng)
    with pytest.raises(ValueError, match="unknown model"):
        task.simulate("igt_nope", {}, rng)


def test_example_is_raw_and_deterministic() -> None:
    """Raw coding (decks 1-4, payoffs in the task's units, empty cells on missed trials),
    one row per trial, a truth table per participant; the same for the same seed."""
    trials, truth = example_tables(task)
    assert list(trials.columns) == ["participant", "trial", "choice", "gain", "loss"]
    assert (trials.groupby("participant")["trial"].count() == 100).all()
    missed = trials["choice"].isna()
    assert 0 < missed.mean() < 0.1
    assert trials.loc[missed, ["gain", "loss"]].isna().all().all()
    answered = trials[~missed]
    assert set(answered["choice"].unique()) == {1, 2, 3, 4}
    assert set(answered["gain"].unique()) == {50.0, 100.0}
    assert (answered["loss"] <= 0).all() and (answered["loss"] == -1250.0).any()
    # the scaled data (scale 0.01) are more likely under the true parameters than at random
    n_p = len(truth)
    shape = (n_p, 100)
    choice = trials["choice"].fillna(0).to_numpy(int).reshape(shape) - 1
    valid = ~missed.to_numpy().reshape(shape)
    gain = trials["gain"].fillna(0).to_numpy().reshape(shape) * task.SCALE
    loss = trials["loss"].fillna(0).to_numpy().reshape(shape) * task.SCALE
    params = {k: truth[k].to_numpy() for k in truth.columns[1:]}
    logp = reference(task.EXAMPLE_MODEL, params, choice, gain, loss, valid)["logp"]
    assert logp.sum() > valid.sum() * math.log(0.25) + 100


# ---------------------------------------------------------------------------------------
# parameter recovery
# ---------------------------------------------------------------------------------------

#: igt_orl's group means and sds on the unconstrained scale (the links are the spec's)
ORL_MU = {"Arew": -0.6, "Apun": -1.2, "K": -1.2, "betaF": 1.5, "betaP": 2.0}
ORL_SD = {"Arew": 0.2, "Apun": 0.2, "K": 0.2, "betaF": 0.6, "betaP": 0.6}


@pytest.fixture(scope="module")
def orl_fit():  # noqa: ANN201
    rng = np.random.default_rng(2026)
    n_p = 24
    z = {k: ORL_MU[k] + ORL_SD[k] * rng.normal(size=n_p) for k in ORL_MU}
    params = {k: natural("igt_orl", k, v) for k, v in z.items()}
    sim = task.simulate("igt_orl", params, rng, n_trials=100, missing_prob=0.02)
    data = task_data(sim["choice"], sim["gain"], sim["loss"], sim["valid"])
    return nuts_fit("igt_orl", data, "igt_recovery"), params


@pytest.mark.slow
def test_orl_recovers_group_means(orl_fit) -> None:  # noqa: ANN001
    idata, truth = orl_fit
    means = {k: float(natural("igt_orl", k, mu)) for k, mu in ORL_MU.items()}
    check_recovery(idata, means, truth)
