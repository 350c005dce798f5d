"""The probabilistic selection family (pst_Q, pst_gainloss_Q): the JAX likelihood against
an independent plain-Python loop written from Frank et al. (2007), the simulator against
the same loop, and parameter recovery with real NUTS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_checks import (
    assert_binomial,
    assert_log_probs_match,
    assert_unchanged,
    check_recovery,
    example_tables,
    nuts_fit,
    outputs64,
    params_by_link,
    random_valid,
    scrambled,
)

from cogfit.data import TaskData, from_arrays
from cogfit.models import get_model
from cogfit.models.pst_spec import PAIR_CODES
from cogfit.tasks import pst as task

MODELS = ("pst_Q", "pst_gainloss_Q")


def reference(
    model: str,
    params: dict[str, np.ndarray],
    pair: np.ndarray,
    choice: np.ndarray,
    reward: np.ndarray,
    has_reward: np.ndarray,
    valid: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per trial, along the observed history: ``logp`` (log p of the choice, 0 where
    masked), ``p_first`` and the values, by plain loops over participants and trials.

    Frank et al. (2007): six stimulus values start at 0; the first stimulus of the pair
    is chosen with probability exp(beta Q1) / (exp(beta Q1) + exp(beta Q2)); after
    feedback r the chosen one's value moves by alpha_G * delta for delta = r - Q >= 0,
    alpha_L * delta otherwise (one alpha in pst_Q); no feedback, no learning.
    """
    n_p, n_t = pair.shape
    out = {k: np.zeros((n_p, n_t)) for k in ("logp", "p_first", "v1", "v2", "vc", "pe")}
    out["value"] = np.zeros((n_p, n_t, 6))
    for i in range(n_p):
        beta = float(params["beta"][i])
        gain = float(params["alpha"][i] if "alpha" in params else params["alpha_pos"][i])
        loss = float(params["alpha"][i] if "alpha" in params else params["alpha_neg"][i])
        q = {stimulus: 0.0 for stimulus in range(1, 7)}
        for t in range(n_t):
            code = int(pair[i, t])
            if not valid[i, t]:
                out["value"][i, t] = [q[s] for s in range(1, 7)]
                continue
            one, two = divmod(code, 10)
            p = math.exp(beta * q[one]) / (math.exp(beta * q[one]) + math.exp(beta * q[two]))
            chosen = one if choice[i, t] == 1 else two
            out["logp"][i, t] = math.log(p if choice[i, t] == 1 else 1.0 - p)
            out["p_first"][i, t] = p
            out["value"][i, t] = [q[s] for s in range(1, 7)]
            out["v1"][i, t], out["v2"][i, t], out["vc"][i, t] = q[one], q[two], q[chosen]
            if not has_reward[i, t]:
                out["pe"][i, t] = np.nan
                continue
            delta = float(reward[i, t]) - q[chosen]
            out["pe"][i, t] = delta
            q[chosen] += (gain if delta >= 0 else loss) * delta
    return out


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values across each parameter's support."""
    return params_by_link(model, n, rng, probit=(0.02, 0.98), scaled_probit=(0.05, 0.95))


def random_data(rng: np.random.Generator, n_p: int = 6, n_t: int = 90) -> TaskData:
    """Random pairs (any of the 30 ordered ones), choices and rewards, with missed trials,
    trials without feedback and a shorter participant."""
    valid = random_valid(rng, n_p, n_t, short=(1, 60), complete=0)
    has_reward = rng.random((n_p, n_t)) > 0.2
    columns = {
        "pair": rng.choice(np.array(PAIR_CODES), (n_p, n_t)),
        "choice": rng.integers(0, 2, (n_p, n_t)),
        "reward": rng.integers(0, 2, (n_p, n_t)).astype(float),
    }
    return from_arrays(columns, valid, observed={"reward": has_reward})


def _cells(data: TaskData) -> tuple[np.ndarray, ...]:
    t = data.trials
    return t["pair"], t["choice"], t["reward"], t["has_reward"], t["valid"]


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    expected = reference(model, params, *_cells(data))["logp"]
    return params, data.scan_inputs(get_model(model)), expected, data.mask


def test_every_ordered_pair_is_a_value() -> None:
    assert len(PAIR_CODES) == 30 == len(set(PAIR_CODES))
    assert all(1 <= c // 10 <= 6 and 1 <= c % 10 <= 6 and c // 10 != c % 10 for c in PAIR_CODES)


@pytest.mark.parametrize(
    ("model", "scan"),
    [("pst_Q", "sequential"), ("pst_Q", "associative"), ("pst_gainloss_Q", "sequential")],
)
def test_loglik_matches_reference(model: str, scan: str) -> None:
    case = reference_case(model, MODELS.index(model) + 20)
    assert_log_probs_match(model, *case, dtype="float64", scan=scan)


@pytest.mark.parametrize("model", MODELS)
def test_loglik_in_float32(model: str) -> None:
    """The default precision agrees with the float64 reference to float32 rounding."""
    case = reference_case(model, 4)
    assert_log_probs_match(model, *case, dtype="float32", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_policies_and_latents_match_reference(model: str) -> None:
    rng = np.random.default_rng(6)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    ref = reference(model, params, *_cells(data))
    out = outputs64(model, params, data.scan_inputs(get_model(model)))
    mask = data.mask
    p_first = np.exp(out["log_probs"][..., 1])
    np.testing.assert_allclose(p_first[mask], ref["p_first"][mask], rtol=1e-9)
    np.testing.assert_allclose(out["value"], ref["value"], atol=1e-12)
    for latent, key in (("value_first", "v1"), ("value_second", "v2"), ("value_chosen", "vc")):
        np.testing.assert_allclose(out[latent][mask], ref[key][mask], atol=1e-12)
    error = out["prediction_error"][mask]
    np.testing.assert_array_equal(np.isnan(error), np.isnan(ref["pe"][mask]))
    np.testing.assert_allclose(error, ref["pe"][mask], atol=1e-12)


def test_masked_and_unrewarded_cells_do_not_teach() -> None:
    """Garbage in masked cells, and a reward cell marked empty, change no probability."""
    rng = np.random.default_rng(7)
    data = random_data(rng)
    params = random_params("pst_gainloss_Q", data.n_participants, rng)
    inputs = data.scan_inputs(get_model("pst_gainloss_Q"))
    garbage = rng.choice(np.array(PAIR_CODES), data.mask.shape)
    noisy = scrambled(inputs, data.mask, {"pair": garbage, "choice": 1 - inputs["choice"]})
    noisy = scrambled(noisy, data.mask & inputs["has_reward"], {"reward": 99.0})
    assert_unchanged("pst_gainloss_Q", params, inputs, noisy)


@pytest.mark.parametrize("model", MODELS)
def test_simulator_probabilities_match_reference(model: str) -> None:
    rng = np.random.default_rng(13)
    params = random_params(model, 5, rng)
    sim = task.simulate(
        model, params, rng, n_training=90, n_test_repeats=2, missing_prob=0.05, swap_sides=True
    )
    cells = (sim[k] for k in ("pair", "choice", "reward", "has_reward", "valid"))
    ref = reference(model, params, *cells)
    valid = sim["valid"]
    np.testing.assert_allclose(sim["p_first"][valid], ref["p_first"][valid], rtol=1e-10)
    assert set(np.unique(sim["pair"])) <= set(PAIR_CODES)
    assert np.isnan(sim["reward"][~sim["has_reward"]]).all()
    assert not sim["has_reward"][:, 90:].any() and sim["pair"].shape[1] == 90 + 2 * 15


def test_simulated_choices_and_rewards_follow_their_probabilities() -> None:
    """Choices occur at the model's rate and rewards at each stimulus's probability:
    binomial checks at about four standard errors."""
    rng = np.random.default_rng(14)
    params = random_params("pst_Q", 200, rng)
    sim = task.simulate("pst_Q", params, rng, n_training=150, swap_sides=True)
    p, choice = sim["p_first"].ravel(), sim["choice"].ravel()
    assert_binomial(choice, p)
    pair = sim["pair"].ravel()
    chosen = np.where(choice == 1, pair // 10, pair % 10)
    reward = sim["reward"].ravel()
    for stimulus, rate in enumerate(task.REWARD_PROBS, start=1):
        assert_binomial(reward[chosen == stimulus], rate)


def test_example_is_raw_and_consistent() -> None:
    trials, _ = example_tables(task)
    assert list(trials.columns) == ["participant", "trial", "pair", "choice", "reward"]
    training = trials["trial"] <= 180
    assert set(trials.loc[training, "pair"]) == {12, 34, 56}
    assert set(trials["pair"]) <= set(PAIR_CODES)
    assert trials.loc[~training, "reward"].isna().all()
    answered = trials["choice"].notna()
    assert 0.9 < answered.mean() < 1.0
    assert trials.loc[training & answered, "reward"].notna().all()
    assert set(trials.loc[answered, "choice"]) == {0, 1}


# --- parameter recovery -------------------------------------------------------------

#: the recovery's population on the unconstrained scale (mean, sd)
RECOVERY_MODEL = "pst_gainloss_Q"
POPULATION = {"alpha_pos": (-0.4, 0.2), "alpha_neg": (-1.2, 0.2), "beta": (-0.3, 0.2)}


@pytest.fixture(scope="module")
def recovery() -> tuple:
    rng = np.random.default_rng(2007)
    n_p = 24
    params = task.population_draws(POPULATION, n_p, rng)
    sim = task.simulate(RECOVERY_MODEL, params, rng, n_training=240, n_test_repeats=2)
    columns = {k: sim[k] for k in ("pair", "choice", "reward")}
    data = from_arrays(columns, sim["valid"], observed={"reward": sim["has_reward"]})
    return nuts_fit(RECOVERY_MODEL, data, "pst-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_cover_truth(recovery: tuple) -> None:
    idata, truth = recovery
    means = {k: float(task.natural(k, np.array(mu))) for k, (mu, _) in POPULATION.items()}
    check_recovery(idata, means, truth, max_divergent=9)
