"""The two-step family (ts_par4, ts_par6, ts_par7) against an independent plain-Python
reference of Daw, Gershman, Seymour, Dayan & Dolan (2011), Neuron 69:1204-1215; its
simulator against the same reference; parameter recovery of ts_par4 with real NUTS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_checks import (
    assert_log_probs_match,
    assert_unchanged,
    check_recovery,
    example_tables,
    finite_gradients,
    nuts_fit,
    outputs64,
    params_by_link,
    random_valid,
    scan_cases,
    scrambled,
)

from cogfit.data import TaskData, from_arrays
from cogfit.models import get_model, get_spec
from cogfit.tasks import ts as task

MODELS = ("ts_par4", "ts_par6", "ts_par7")
AFFINE = ("ts_par4", "ts_par6")


def reference(
    model: str,
    params: dict[str, np.ndarray],
    choice1: np.ndarray,
    choice2: np.ndarray,
    reward: np.ndarray,
    valid: np.ndarray,
    has_choice2: np.ndarray,
    has_reward: np.ndarray,
) -> dict[str, np.ndarray]:
    """The hybrid model trial by trial, in Daw et al.'s order of TD updates.

    Returns [P, T] ``logp1``, ``logp2`` (0 where not scored) and their sum ``logp``; the
    probabilities ``p1`` [P, T, 2] and ``p2`` [P, T, 2] (of the reached state's two
    options); the values before each trial ``q1`` [P, T, 2] and ``q2`` [P, T, 4].
    """
    n_p, n_t = valid.shape
    out = {
        "logp1": np.zeros((n_p, n_t)),
        "logp2": np.zeros((n_p, n_t)),
        "p1": np.zeros((n_p, n_t, 2)),
        "p2": np.zeros((n_p, n_t, 2)),
        "q1": np.zeros((n_p, n_t, 2)),
        "q2": np.zeros((n_p, n_t, 4)),
    }
    for p in range(n_p):
        prm = {k: float(v[p]) for k, v in params.items()}
        rate1 = prm["a1"] if "a1" in prm else prm["a"]
        rate2 = prm["a2"] if "a2" in prm else prm["a"]
        temp1 = prm["beta1"] if "beta1" in prm else prm["beta"]
        temp2 = prm["beta2"] if "beta2" in prm else prm["beta"]
        trace = prm.get("lambda", 1.0)  # ts_par4 and ts_par6: lambda = 1
        stay, weight = prm["pi"], prm["w"]
        q_first = [0.0, 0.0]
        q_second = [[0.0, 0.0], [0.0, 0.0]]  # [state][option within the state]
        previous = None
        for t in range(n_t):
            out["q1"][p, t] = q_first
            out["q2"][p, t] = q_second[0] + q_second[1]
            if not valid[p, t]:
                continue
            best = [max(q_second[0]), max(q_second[1])]
            q_mb = [0.7 * best[0] + 0.3 * best[1], 0.3 * best[0] + 0.7 * best[1]]
            u = [
                temp1 * (weight * q_mb[k] + (1 - weight) * q_first[k])
                + (stay if previous == k else 0.0)
                for k in range(2)
            ]
            norm = math.log(math.exp(u[0]) + math.exp(u[1]))
            out["p1"][p, t] = [math.exp(u[0] - norm), math.exp(u[1] - norm)]
            c = int(choice1[p, t])
            out["logp1"][p, t] = u[c] - norm
            previous = c
            if not has_choice2[p, t]:
                continue
            s, o = divmod(int(choice2[p, t]), 2)
            v = [temp2 * q_second[s][0], temp2 * q_second[s][1]]
            norm2 = math.log(math.exp(v[0]) + math.exp(v[1]))
            out["p2"][p, t] = [math.exp(v[0] - norm2), math.exp(v[1] - norm2)]
            out["logp2"][p, t] = v[o] - norm2
            if not has_reward[p, t]:
                continue
            r = float(reward[p, t])
            delta1 = q_second[s][o] - q_first[c]
            delta2 = r - q_second[s][o]
            q_first[c] += rate1 * delta1
            q_second[s][o] += rate2 * delta2
            q_first[c] += rate1 * trace * delta2
    out["logp"] = out["logp1"] + out["logp2"]
    return out


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Natural-scale values inside each parameter's support."""
    ranges = {"probit": (0.05, 0.95), "scaled_probit": (0.05, 0.9), "exp": (0.5, 8.0)}
    return params_by_link(model, n, rng, **ranges)


def random_trials(rng: np.random.Generator, n_p: int = 6, n_t: int = 60) -> dict[str, np.ndarray]:
    """Random two-step histories with missed trials, a shorter (padded) participant, missing
    second choices and a few second choices without a reward."""
    choice1 = rng.integers(0, 2, (n_p, n_t))
    state = np.where(rng.random((n_p, n_t)) < 0.7, choice1, 1 - choice1)
    choice2 = 2 * state + rng.integers(0, 2, (n_p, n_t))
    reward = rng.integers(0, 2, (n_p, n_t)).astype(float)
    # padding: a participant with 40 trials
    valid = random_valid(rng, n_p, n_t, short=(1, 40), missed=0.1, complete=0)
    has_choice2 = valid & (rng.random((n_p, n_t)) > 0.15)
    has_reward = has_choice2 & (rng.random((n_p, n_t)) > 0.1)
    return {
        "choice1": choice1,
        "choice2": choice2,
        "reward": reward,
        "valid": valid,
        "has_choice2": has_choice2,
        "has_reward": has_reward,
    }


def task_data(trials: dict[str, np.ndarray]) -> TaskData:
    return from_arrays(
        {k: trials[k] for k in ("choice1", "choice2", "reward")},
        trials["valid"],
        observed={"choice2": trials["has_choice2"], "reward": trials["has_reward"]},
    )


def scan_inputs(model: str, trials: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return task_data(trials).scan_inputs(get_model(model))


def run_reference(model: str, params: dict[str, np.ndarray], trials: dict) -> dict:
    keys = ("choice1", "choice2", "reward", "valid", "has_choice2", "has_reward")
    return reference(model, params, *(trials[k] for k in keys))


def reference_case(model: str, seed: int) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Random trials and parameters: (params, scan inputs, the reference's log p, valid)."""
    rng = np.random.default_rng(seed)
    trials = random_trials(rng)
    params = random_params(model, trials["valid"].shape[0], rng)
    expected = run_reference(model, params, trials)["logp"]
    return params, scan_inputs(model, trials), expected, trials["valid"]


SCANS = scan_cases(MODELS)


def test_specs_and_catalog() -> None:
    """The catalog lists the three models with hBayesDM's parameters, and they load."""
    expected = {
        "ts_par4": ("a", "beta", "pi", "w"),
        "ts_par6": ("a1", "beta1", "a2", "beta2", "pi", "w"),
        "ts_par7": ("a1", "beta1", "a2", "beta2", "pi", "w", "lambda"),
    }
    for name, params in expected.items():
        spec = get_spec(name)
        assert spec.param_names == params
        assert spec.responses == ("choice1", "choice2")
        assert get_model(name).spec == spec
        assert (get_model(name).linear is not None) == (name in AFFINE)


@pytest.mark.parametrize(("scan", "model"), SCANS)
def test_loglik_matches_reference(scan: str, model: str) -> None:
    """float64: every trial's log p(choice1) + log p(choice2) equals the reference's."""
    case = reference_case(model, sum(map(ord, model + scan)))
    assert_log_probs_match(model, *case, dtype="float64", scan=scan, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_loglik_float32_and_gradient(model: str) -> None:
    """The default precision agrees to float32 accuracy, and the gradient is finite (the
    -inf logits of the state not reached must not leak NaNs into NUTS)."""
    params, inputs, expected, valid = reference_case(model, 7)
    total, grad = finite_gradients(model, params, inputs)
    np.testing.assert_allclose(total, expected.sum(), rtol=2e-5)
    assert_log_probs_match(model, params, inputs, expected, valid, dtype="float32")
    for name, g in grad.items():
        assert np.any(g != 0.0), name


@pytest.mark.parametrize("model", MODELS)
def test_missing_second_choice_scores_first_only(model: str) -> None:
    """A trial with a first choice but no second counts log p(choice1) only, and teaches
    nothing but the perseveration: garbage in its empty cells changes nothing."""
    rng = np.random.default_rng(11)
    trials = random_trials(rng)
    params = random_params(model, trials["valid"].shape[0], rng)
    ref = run_reference(model, params, trials)
    only_first = trials["valid"] & ~trials["has_choice2"]
    assert only_first.sum() > 10
    inputs = scan_inputs(model, trials)
    noisy = scrambled(inputs, ~only_first, {"choice2": 3})
    noisy = scrambled(noisy, inputs["has_reward"], {"reward": 9.0})
    close = {"rtol": 1e-12, "atol": 1e-12}
    got = assert_unchanged(model, params, inputs, noisy, dtype="float64", **close)
    np.testing.assert_allclose(got[only_first], ref["logp1"][only_first], rtol=1e-9)
    assert np.all(ref["logp2"][trials["has_choice2"]] < 0)  # scored elsewhere


@pytest.mark.parametrize("model", MODELS)
def test_policies_and_latents_match_reference(model: str) -> None:
    """trial_outputs: both stages' probabilities (0 for the state not reached) and the
    values before each trial, along the observed history."""
    rng = np.random.default_rng(5)
    trials = random_trials(rng)
    params = random_params(model, trials["valid"].shape[0], rng)
    ref = run_reference(model, params, trials)
    out = outputs64(model, params, scan_inputs(model, trials))
    valid, has2 = trials["valid"], trials["has_choice2"]
    np.testing.assert_allclose(np.exp(out["log_probs"])[valid], ref["p1"][valid], rtol=1e-9)
    p2 = np.exp(out["log_probs_choice2"])  # [P, T, 4]
    state = trials["choice2"] // 2
    reached = np.take_along_axis(p2, (2 * state)[..., None] + np.arange(2), axis=-1)
    np.testing.assert_allclose(reached[has2], ref["p2"][has2], rtol=1e-9)
    np.testing.assert_allclose(p2.sum(-1)[has2], 1.0, rtol=1e-12)  # none off the state
    np.testing.assert_allclose(out["value_mf"][valid], ref["q1"][valid], atol=1e-12)
    np.testing.assert_allclose(out["value_stage2"][valid], ref["q2"][valid], atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_simulator_matches_reference(model: str) -> None:
    """The simulator's choice probabilities are the reference's on the simulated history,
    its transitions are common 70% of the time, its reward walks stay in [0.25, 0.75] and
    its choice frequencies follow its probabilities."""
    rng = np.random.default_rng(2)
    n_p = 6
    params = random_params(model, n_p, rng)
    sim = task.simulate(model, params, rng, n_trials=150, miss_first=0.05, miss_second=0.1)
    valid, has2 = sim["valid"], sim["has_choice2"]
    assert (~valid).sum() > 0 and (valid & ~has2).sum() > 0
    np.testing.assert_array_equal(has2, sim["has_reward"])
    ref = run_reference(model, params, sim)
    np.testing.assert_allclose(sim["p_choice1"][valid], ref["p1"][valid], rtol=1e-10)
    reached = np.take_along_axis(
        sim["p_choice2"], (2 * (sim["choice2"] // 2))[..., None] + np.arange(2), axis=-1
    )
    np.testing.assert_allclose(reached[has2], ref["p2"][has2], rtol=1e-10)
    np.testing.assert_array_equal(sim["choice2"][has2] // 2, sim["state"][has2])
    common = sim["state"][valid] == sim["choice1"][valid]
    np.testing.assert_array_equal(common, sim["common"][valid])
    assert abs(common.mean() - 0.7) < 0.05
    probs = sim["reward_probs"]
    assert probs.min() >= 0.25 and probs.max() <= 0.75 and probs.std() > 0.02
    predicted = sim["p_choice1"][valid][:, 1].mean()
    assert abs((sim["choice1"][valid] == 1).mean() - predicted) < 0.05


def test_example_is_a_raw_file() -> None:
    """example(): hBayesDM's raw coding (options from 1), empty cells where missed, and a
    parameter table of ts_par4's parameters."""
    trials, _ = example_tables(task)
    assert list(trials.columns) == ["participant", "trial", "choice1", "choice2", "reward"]
    assert len(trials) == 20 * 200
    assert set(trials["choice1"].dropna()) == {1, 2}
    assert set(trials["choice2"].dropna()) == {1, 2, 3, 4}
    assert set(trials["reward"].dropna()) == {0, 1}
    assert trials["choice1"].isna().sum() > 0
    np.testing.assert_array_equal(trials["choice2"].isna(), trials["reward"].isna())
    assert (trials["choice2"].isna() & trials["choice1"].notna()).sum() > 0


# ts_par4's recovery: group means on the raw (probit / log) scale and sds across participants
RECOVERY_GROUP = task.EXAMPLE_GROUP
RECOVERY_SEED = 6


@pytest.fixture(scope="module")
def recovery_fit():  # noqa: ANN201
    rng = np.random.default_rng(RECOVERY_SEED)
    n_p, n_t = 24, 200
    params = task.sample_params("ts_par4", RECOVERY_GROUP, n_p, rng)
    sim = task.simulate("ts_par4", params, rng, n_trials=n_t)
    return nuts_fit("ts_par4", task_data(sim), "ts_recovery"), params


@pytest.mark.slow
def test_recovery_ts_par4(recovery_fit) -> None:  # noqa: ANN001
    """Every group mean's truth lies in its posterior 95% interval; the participant
    estimates are printed against the truth."""
    idata, truth = recovery_fit
    means = {k: np.array([mu]) for k, (mu, _) in RECOVERY_GROUP.items()}
    natural = task.natural_params("ts_par4", means)
    means = {name: float(natural[name][0]) for name in get_spec("ts_par4").param_names}
    check_recovery(idata, means, truth, max_divergent=0)
