"""The prl family (probabilistic reversal learning) against plain-Python references.

The references below are written from the papers' equations (Gläscher, Hampton &
O'Doherty 2009; den Ouden et al. 2013) in the form hBayesDM states its models, as loops
over trials, independent of the JAX kernels (:mod:`cogfit.models.prl`) and of the NumPy
simulator (:mod:`cogfit.tasks.prl`)."""

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
    log_probs,
    natural,
    nuts_fit,
    outputs64,
    params_by_link,
    random_valid,
    scan_cases,
    scrambled,
    standardised,
)

from cogfit.data import TaskData, from_arrays
from cogfit.models import SPECS, get_model
from cogfit.names import RESET, VALID
from cogfit.tasks import prl as task

PRL = sorted(name for name in SPECS if name.startswith("prl_"))
SCANS = scan_cases(PRL)


def _log_sigmoid(x: float) -> float:
    """log(1 / (1 + exp(-x))) without overflow or cancellation."""
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def reference(
    model: str,
    params: dict[str, np.ndarray],
    choice: np.ndarray,
    outcome: np.ndarray,
    valid: np.ndarray,
    reset: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per trial along the observed history: ``log_p`` of the choice (0 where not valid),
    ``p`` [P, T, 2] of both options, and the state before the trial (``value``
    [P, T, 2], ``weight`` [P, T, 2] for EWA) and the chosen option's prediction error."""
    n_p, n_t = choice.shape
    out = {
        "log_p": np.zeros((n_p, n_t)),
        "p": np.zeros((n_p, n_t, 2)),
        "value": np.zeros((n_p, n_t, 2)),
        "weight": np.zeros((n_p, n_t, 2)),
        "pe": np.zeros((n_p, n_t)),
    }
    for i in range(n_p):
        par = {k: float(v[i]) for k, v in params.items()}
        ev, ew = [0.0, 0.0], [0.0, 0.0]
        for t in range(n_t):
            if reset[i, t]:  # a new block: the values start afresh
                ev, ew = [0.0, 0.0], [0.0, 0.0]
            out["value"][i, t], out["weight"][i, t] = ev, ew
            if model.startswith("prl_fictitious"):
                # Gläscher et al. (2009): P(A) = 1 / (1 + exp(beta * (alpha - (V_A - V_B))))
                log_odds_a = -par["beta"] * (par.get("alpha", 0.0) - (ev[0] - ev[1]))
            else:  # softmax over beta * V: log P(A) / P(B) = beta * V_A - beta * V_B
                log_odds_a = par["beta"] * ev[0] - par["beta"] * ev[1]
            log_p = (_log_sigmoid(log_odds_a), _log_sigmoid(-log_odds_a))
            out["p"][i, t] = np.exp(log_p)
            if not valid[i, t]:
                continue
            c, r = int(choice[i, t]), float(outcome[i, t])
            nc = 1 - c
            out["log_p"][i, t] = log_p[c]
            pe = r - ev[c]
            out["pe"][i, t] = pe
            if model == "prl_ewa":
                n_before = ew[c]
                ew[c] = ew[c] * par["rho"] + 1.0
                ev[c] = (ev[c] * par["phi"] * n_before + r) / ew[c]
            elif model == "prl_rp":
                ev[c] += (par["Arew"] if r > 0 else par["Apun"]) * pe
            else:
                pe_nc = -r - ev[nc]  # fictitious: the unchosen option "gave" -r
                # one rate, or eta_pos / eta_neg by the sign of the chosen option's error
                eta = par.get("eta", par.get("eta_pos") if pe >= 0 else par.get("eta_neg"))
                ev[c] += eta * pe
                ev[nc] += eta * pe_nc
    return out


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values inside each parameter's support."""
    ranges = {"probit": (0.05, 0.95), "scaled_probit": (0.05, 0.8)}
    return params_by_link(model, n, rng, **ranges, identity_sd=1.0)


def random_data(rng: np.random.Generator, n_p: int = 6, n_t: int = 70) -> TaskData:
    """Random choices and outcomes (mostly +-1, some other reals so the sign of the
    prediction error and of the outcome can differ), missed trials, a padded shorter
    participant and block starts (one on a missed trial)."""
    choice = rng.integers(0, 2, (n_p, n_t))
    outcome = np.where(rng.random((n_p, n_t)) < 0.8, 1.0, -1.0) * (rng.random((n_p, n_t)) < 0.6)
    outcome = np.where(outcome == 0, -1.0, outcome)
    odd = rng.random((n_p, n_t)) < 0.2
    outcome = np.where(odd, rng.uniform(-1.5, 1.5, (n_p, n_t)).round(2), outcome)
    valid = random_valid(rng, n_p, n_t, short=(1, 45))  # a shorter participant, padded
    block_start = rng.random((n_p, n_t)) < 0.04
    block_start[:, 30] = True
    block_start[:, 0] = False
    valid[2, 30] = False  # a block that starts with a missed trial
    return from_arrays(
        {"choice": choice, "outcome": outcome}, valid, block_start=block_start, n_options=2
    )


def _reference_on(model: str, params: dict[str, np.ndarray], data: TaskData) -> dict:
    trials = data.scan_inputs(get_model(model))
    return reference(
        model, params, trials["choice"], trials["outcome"], trials[VALID], trials[RESET]
    )


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    expected = _reference_on(model, params, data)["log_p"]
    return params, data.scan_inputs(get_model(model)), expected, data.mask


def test_the_family_is_catalogued_with_block_resets() -> None:
    names = ("prl_fictitious", "prl_fictitious_woa", "prl_fictitious_rp")
    names += ("prl_fictitious_rp_woa", "prl_rp", "prl_ewa")
    assert sorted(names) == PRL
    for name in PRL:
        spec = SPECS[name]
        assert spec.block_reset and spec.responses == ("choice",)
        assert spec.column("choice").levels == 2 and spec.column("outcome").kind == "real"


@pytest.mark.parametrize(("scan", "model"), SCANS)
def test_loglik_matches_reference(scan: str, model: str) -> None:
    case = reference_case(model, PRL.index(model) + 11)
    assert_log_probs_match(model, *case, dtype="float64", scan=scan)


@pytest.mark.parametrize("model", PRL)
def test_float32_loglik_is_close(model: str) -> None:
    case = reference_case(model, 5)
    assert_log_probs_match(model, *case, dtype="float32", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", PRL)
def test_policies_and_latents_match_reference(model: str) -> None:
    rng = np.random.default_rng(PRL.index(model) + 101)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    ref = _reference_on(model, params, data)
    out = outputs64(model, params, data.scan_inputs(get_model(model)))
    np.testing.assert_allclose(np.exp(out["log_probs"]), ref["p"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["value"], ref["value"], rtol=1e-9, atol=1e-12)
    mask, chosen = data.mask, data.trials["choice"]
    v_chosen = np.take_along_axis(ref["value"], chosen[..., None], -1)[..., 0]
    np.testing.assert_allclose(out["value_chosen"][mask], v_chosen[mask], atol=1e-12)
    if model == "prl_ewa":
        np.testing.assert_allclose(out["experience_weight"], ref["weight"], atol=1e-12)
    else:
        np.testing.assert_allclose(out["prediction_error"][mask], ref["pe"][mask], atol=1e-12)


@pytest.mark.parametrize("model", PRL)
def test_masked_cells_do_not_teach(model: str) -> None:
    """Garbage in missed and padding cells changes no valid trial's probability."""
    rng = np.random.default_rng(3)
    data = random_data(rng)
    params = random_params(model, data.n_participants, rng)
    trials = data.scan_inputs(get_model(model))
    noisy = scrambled(trials, data.mask, {"choice": 1 - trials["choice"], "outcome": 99.0})
    close = {"rtol": 1e-12, "atol": 1e-12}
    assert_unchanged(model, params, trials, noisy, dtype="float64", **close)


@pytest.mark.parametrize("model", PRL)
def test_a_new_block_starts_afresh(model: str) -> None:
    """With a block start at trial k, trials k.. score as a participant who starts there."""
    rng = np.random.default_rng(9)
    n_p, n_t, k = 3, 40, 17
    choice = rng.integers(0, 2, (n_p, n_t))
    outcome = np.where(rng.random((n_p, n_t)) < 0.5, 1.0, -1.0)
    valid = np.ones((n_p, n_t), bool)
    starts = np.zeros((n_p, n_t), bool)
    starts[:, k] = True
    params = random_params(model, n_p, rng)
    m = get_model(model)
    whole = from_arrays({"choice": choice, "outcome": outcome}, valid, block_start=starts)
    tail = from_arrays({"choice": choice[:, k:], "outcome": outcome[:, k:]}, valid[:, k:])
    one_block = from_arrays({"choice": choice, "outcome": outcome}, valid)
    got = log_probs(model, params, whole.scan_inputs(m), dtype="float64")
    fresh = log_probs(model, params, tail.scan_inputs(m), dtype="float64")
    carried = log_probs(model, params, one_block.scan_inputs(m), dtype="float64")
    np.testing.assert_allclose(got[:, k:], fresh, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[:, :k], carried[:, :k], rtol=1e-12, atol=1e-12)
    assert not np.allclose(got[:, k:], carried[:, k:])  # without the reset, values carry over


@pytest.mark.parametrize("model", PRL)
def test_simulator_probabilities_match_reference(model: str) -> None:
    rng = np.random.default_rng(PRL.index(model) + 40)
    params = random_params(model, 12, rng)
    sim = task.simulate(model, params, rng, n_blocks=2, trials_per_block=40, missing_prob=0.1)
    ref = reference(model, params, sim["choice"], sim["outcome"], sim["valid"], sim["block_start"])
    np.testing.assert_allclose(sim["probabilities"], ref["p"], rtol=1e-10, atol=1e-12)
    assert set(np.unique(sim["outcome"][sim["valid"]])) <= {-1.0, 1.0}
    assert np.all(sim["choice"][~sim["valid"]] == 0) and np.all(sim["outcome"][~sim["valid"]] == 0)


def test_simulated_choices_follow_their_probabilities() -> None:
    rng = np.random.default_rng(21)
    params = random_params("prl_fictitious", 200, rng)
    sim = task.simulate("prl_fictitious", params, rng, n_blocks=2, trials_per_block=50)
    first = sim["choice"] == 0
    p = sim["probabilities"][..., 0]
    # the count of option-0 choices against its mean and sd under the model
    assert_binomial(first, p)
    # and per confidence band: choices that were likely are made more often
    high, low = p > 0.8, p < 0.2
    assert abs(first[high].mean() - p[high].mean()) < 0.02
    assert abs(first[low].mean() - p[low].mean()) < 0.02


def test_reversal_task() -> None:
    rng = np.random.default_rng(4)
    params = {"eta": np.full(300, 0.3), "beta": np.full(300, 3.0)}
    sim = task.simulate(
        "prl_fictitious_woa", params, rng, n_blocks=3, trials_per_block=40, run_length=(8, 12)
    )
    good, valid = sim["good_option"], sim["valid"]
    hit = sim["choice"] == good
    win = sim["outcome"] > 0
    assert abs(win[hit & valid].mean() - 0.7) < 0.02
    assert abs(win[~hit & valid].mean() - 0.3) < 0.02
    assert hit.mean() > 0.6  # the simulated learner tracks the reversals
    np.testing.assert_array_equal(np.flatnonzero(sim["block_start"][0]), [40, 80])
    np.testing.assert_array_equal(sim["block"][0], np.arange(120) // 40)
    for row, blocks in zip(good[:20], sim["block"][:20], strict=True):
        for b in range(3):
            runs = np.diff(np.flatnonzero(np.diff(row[blocks == b]) != 0))
            assert np.all((runs >= 8) & (runs <= 12))  # inner runs (not cut by a block end)


def test_simulate_rejects_wrong_parameters() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="takes parameters"):
        task.simulate("prl_rp", {"eta": np.ones(2), "beta": np.ones(2)}, rng)
    with pytest.raises(ValueError, match="must lie in"):
        task.simulate("prl_fictitious_woa", {"eta": np.full(2, 1.5), "beta": np.ones(2)}, rng)


def test_example_is_a_raw_prl_file() -> None:
    trials, truth = example_tables(task, seed=3, participants=task.EXAMPLE_PARTICIPANTS)
    assert list(trials.columns) == ["participant", "trial", "block", "choice", "outcome"]
    answered = trials["choice"].notna()
    assert set(trials.loc[answered, "choice"]) == {1, 2}
    assert set(trials.loc[answered, "outcome"]) == {-1, 1}
    assert trials.loc[~answered, "outcome"].isna().all() and 0 < (~answered).sum() < 0.1 * len(
        trials
    )
    assert set(trials["block"]) == set(range(1, task.EXAMPLE_BLOCKS + 1))
    assert np.all(truth["eta"].between(0, 1)) and np.all(truth["beta"].between(0, 10))


# -- parameter recovery (real NUTS) -----------------------------------------------------

#: per model, the unconstrained group means and sds of the simulated participants
#: (rates and beta on the probit scale, alpha on its own); seeds fixed
RECOVERY = {
    "prl_fictitious": ({"eta": (-0.4, 0.2), "alpha": (0.3, 0.3), "beta": (-0.3, 0.2)}, 20260214),
    "prl_rp": ({"Apun": (-0.6, 0.2), "Arew": (-0.1, 0.2), "beta": (-0.2, 0.2)}, 2),
}


@pytest.fixture(scope="module", params=sorted(RECOVERY))
def recovery(request: pytest.FixtureRequest) -> tuple:
    """A fit of data simulated from known group parameters: 24 participants, three blocks
    of 60 trials, 2% missed; the participants' standard-normal offsets are centred and
    scaled so the sample matches the group parameters."""
    model = request.param
    group, seed = RECOVERY[model]
    rng = np.random.default_rng(seed)
    params = {k: natural(model, k, v) for k, v in standardised(rng, group, 24).items()}
    sim = task.simulate(model, params, rng, n_blocks=3, trials_per_block=60, missing_prob=0.02)
    data = from_arrays(
        {"choice": sim["choice"], "outcome": sim["outcome"]},
        sim["valid"],
        block_start=sim["block_start"],
    )
    return model, nuts_fit(model, data, "prl-recovery"), params


@pytest.mark.slow
def test_recovery_group_means_cover_truth(recovery: tuple) -> None:
    model, idata, truth = recovery
    group = RECOVERY[model][0]
    means = {k: float(natural(model, k, mu)) for k, (mu, _) in group.items()}
    check_recovery(idata, means, truth, label=f"{model} ", max_divergent=2)
