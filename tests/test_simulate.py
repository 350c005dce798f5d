"""The NumPy simulator follows the documented model semantics (the JAX models' contract)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cogfit.models import get_model
from cogfit.models.catalog import DELTA_RULE_SPECS
from cogfit.simulate import (
    MODEL_PARAMS,
    as_task_data,
    choice_probabilities,
    reversal_schedule,
    simulate_bandit,
    standard_params,
    update_last_choice,
    update_values,
)

MODELS = {s.name: get_model(s.name) for s in DELTA_RULE_SPECS}


def constant(n: int, **values: float) -> dict[str, np.ndarray]:
    return {k: np.full(n, v) for k, v in values.items()}


def reference_probabilities(
    choices: np.ndarray,
    outcomes: np.ndarray,
    valid: np.ndarray,
    n_options: int,
    *params: np.ndarray | float,  # alpha_pos, alpha_neg, beta, kappa: scalars or [P]
) -> np.ndarray:
    """Scalar re-statement of the contract: P(option) before each trial, [P, T, K]."""
    n_p, n_t = choices.shape
    alpha_pos, alpha_neg, beta, kappa = (np.broadcast_to(x, (n_p,)) for x in params)
    probs = np.zeros((n_p, n_t, n_options))
    for p in range(n_p):
        values, last = [0.0] * n_options, None
        for t in range(n_t):
            logits = [beta[p] * v + (kappa[p] if k == last else 0.0) for k, v in enumerate(values)]
            top = max(logits)
            weights = [math.exp(x - top) for x in logits]
            probs[p, t] = [w / sum(weights) for w in weights]
            if valid[p, t]:
                c = int(choices[p, t])
                delta = outcomes[p, t] - values[c]
                values[c] += (alpha_pos[p] if delta >= 0 else alpha_neg[p]) * delta
                last = c
    return probs


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("rw_persev", {"alpha": 0.5, "beta": 3.0, "kappa": 2.5}),
        ("rw_dual", {"alpha_pos": 0.7, "alpha_neg": 0.1, "beta": 5.0}),
    ],
)
def test_choices_are_calibrated_against_a_scalar_reference(
    model: str, params: dict[str, float]
) -> None:
    """Observed choice rates match the contract's probabilities, misses included."""
    n, schedule = 3000, reversal_schedule(16, p_high=0.8, reversal_every=8)
    arrays = constant(n, **params)
    choices, outcomes, valid = simulate_bandit(
        model, arrays, schedule, np.random.default_rng(1), missing_prob=0.3
    )
    general = standard_params(model, arrays)
    p0 = reference_probabilities(choices, outcomes, valid, 2, *general)[..., 0][valid]
    chose0 = (choices[valid] == 0).astype(float)
    bins = np.digitize(p0, np.linspace(0, 1, 11)[1:-1])
    for b in np.unique(bins):
        sel = bins == b
        if sel.sum() < 200:
            continue
        se = math.sqrt(np.mean(p0[sel] * (1 - p0[sel])) / sel.sum()) + 1e-3
        assert abs(chose0[sel].mean() - p0[sel].mean()) < 4.5 * se, (b, sel.sum())


def test_simulator_takes_the_registrys_parameters() -> None:
    """MODEL_PARAMS names built-in models and their parameters in the models' order, and
    the simulator imports no JAX."""
    import subprocess
    import sys

    assert set(MODEL_PARAMS) <= set(MODELS)
    assert {name: MODELS[name].param_names for name in MODEL_PARAMS} == MODEL_PARAMS
    code = "import sys, cogfit.simulate; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


@pytest.mark.parametrize("model", sorted(MODEL_PARAMS))
def test_simulator_matches_the_jax_models(model: str) -> None:
    """Same semantics as the fitted models: per-trial log p(choice) agree to rounding."""
    from cogfit.likelihood import trial_log_probs

    rng = np.random.default_rng(5)
    n = 12
    draws = {
        "alpha": rng.uniform(0, 1, n),
        "alpha_pos": rng.uniform(0, 1, n),
        "alpha_neg": rng.uniform(0, 1, n),
        "beta": rng.uniform(0, 8, n),
        "kappa": rng.normal(0, 2, n),
    }
    params = {k: draws[k] for k in MODEL_PARAMS[model]}
    schedule = reversal_schedule(30, reversal_every=10, n_options=3)
    choices, outcomes, valid = simulate_bandit(model, params, schedule, rng, missing_prob=0.2)
    probs = reference_probabilities(choices, outcomes, valid, 3, *standard_params(model, params))
    chosen = np.maximum(choices, 0)  # missed trials: any option, they are masked
    ours = np.where(valid, np.log(np.take_along_axis(probs, chosen[..., None], 2)[..., 0]), 0.0)
    data = as_task_data(chosen, np.nan_to_num(outcomes), valid, n_options=3)
    theirs = trial_log_probs(get_model(model), params, data.scan_inputs(get_model(model)), 3)
    np.testing.assert_allclose(np.asarray(theirs), ours, atol=1e-4)


def test_zero_beta_chooses_uniformly() -> None:
    schedule = reversal_schedule(40, n_options=3)
    choices, _, _ = simulate_bandit(
        "rw", constant(2000, alpha=0.5, beta=0.0), schedule, np.random.default_rng(0)
    )
    freq = np.bincount(choices.ravel(), minlength=3) / choices.size
    np.testing.assert_allclose(freq, 1 / 3, atol=0.01)


def test_greedy_learner_finds_the_rewarded_option() -> None:
    schedule = reversal_schedule(60, p_high=1.0, reversal_every=1000)
    choices, outcomes, _ = simulate_bandit(
        "rw", constant(200, alpha=1.0, beta=20.0), schedule, np.random.default_rng(0)
    )
    assert (choices[:, 10:] == 0).mean() > 0.99
    assert np.array_equal(outcomes == 1.0, choices == 0)  # deterministic schedule


def test_greedy_learner_follows_a_reversal() -> None:
    schedule = reversal_schedule(80, p_high=1.0, reversal_every=40)
    choices, _, _ = simulate_bandit(
        "rw", constant(200, alpha=1.0, beta=20.0), schedule, np.random.default_rng(0)
    )
    assert (choices[:, 30:40] == 0).mean() > 0.99 and (choices[:, 70:80] == 1).mean() > 0.99


def test_stickiness_repeats_and_alternates() -> None:
    schedule = reversal_schedule(30)
    sticky, _, _ = simulate_bandit(
        "rw_persev",
        constant(300, alpha=0.5, beta=0.0, kappa=5.0),
        schedule,
        np.random.default_rng(0),
    )
    switchy, _, _ = simulate_bandit(
        "rw_persev",
        constant(300, alpha=0.5, beta=0.0, kappa=-5.0),
        schedule,
        np.random.default_rng(0),
    )
    assert (sticky[:, 1:] == sticky[:, :-1]).mean() > 0.98
    assert (switchy[:, 1:] == switchy[:, :-1]).mean() < 0.02


def test_missed_trials_have_no_choice_and_no_outcome() -> None:
    choices, outcomes, valid = simulate_bandit(
        "rw",
        constant(500, alpha=0.3, beta=3.0),
        reversal_schedule(100),
        np.random.default_rng(0),
        missing_prob=0.1,
    )
    assert abs((~valid).mean() - 0.1) < 0.01
    assert np.all(choices[~valid] == -1) and np.all(np.isnan(outcomes[~valid]))
    assert np.all(np.isin(choices[valid], [0, 1])) and np.all(np.isin(outcomes[valid], [0, 1]))


def test_missing_prob_shares_the_random_stream() -> None:
    """Runs differing only in missing_prob agree on every trial before the first miss."""
    args = ("rw", constant(100, alpha=0.3, beta=3.0), reversal_schedule(50))
    full, _, _ = simulate_bandit(*args, np.random.default_rng(7))
    gappy, _, valid = simulate_bandit(*args, np.random.default_rng(7), missing_prob=0.05)
    before_first_miss = np.cumprod(valid, axis=1).astype(bool)
    assert np.array_equal(full[before_first_miss], gappy[before_first_miss])


def test_same_seed_same_data() -> None:
    args = ("rw_persev", constant(20, alpha=0.3, beta=3.0, kappa=1.0), reversal_schedule(30))
    a = simulate_bandit(*args, np.random.default_rng(3), missing_prob=0.1)
    b = simulate_bandit(*args, np.random.default_rng(3), missing_prob=0.1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_update_values_uses_signed_learning_rates_and_skips_misses() -> None:
    values = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    new = update_values(
        values,
        choices=np.array([0, 1, 0]),
        outcomes=np.array([1.0, 0.0, 1.0]),
        valid=np.array([True, True, False]),
        alpha_pos=np.full(3, 0.5),
        alpha_neg=np.full(3, 0.1),
    )
    np.testing.assert_allclose(new, [[0.75, 0.5], [0.5, 0.45], [0.5, 0.5]])
    np.testing.assert_array_equal(values, 0.5)  # pure: the input is untouched


def test_zero_prediction_error_counts_as_positive() -> None:
    new = update_values(
        np.array([[1.0, 0.0]]),
        np.array([0]),
        np.array([1.0]),
        np.array([True]),
        np.array([0.5]),
        np.array([np.nan]),
    )
    np.testing.assert_array_equal(new, [[1.0, 0.0]])  # alpha_pos chosen, so no NaN


def test_last_choice_keeps_the_last_valid_one() -> None:
    last = np.array([[0.0, 1.0], [0.0, 0.0]])
    new = update_last_choice(last, np.array([0, 1]), np.array([False, True]))
    np.testing.assert_array_equal(new, [[0.0, 1.0], [0.0, 1.0]])


def test_choice_probabilities_softmax() -> None:
    probs = choice_probabilities(
        np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), beta=np.array([2.0]), kappa=np.array([1.0])
    )
    np.testing.assert_allclose(probs, [[1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))]])
    huge = choice_probabilities(
        np.array([[1000.0, 0.0]]), np.zeros((1, 2)), np.array([10.0]), np.zeros(1)
    )
    np.testing.assert_allclose(huge, [[1.0, 0.0]])  # no overflow


def test_reversal_schedule() -> None:
    two = reversal_schedule(6, p_high=0.9, reversal_every=2)
    np.testing.assert_allclose(two[:, 0], [0.9, 0.9, 0.1, 0.1, 0.9, 0.9])
    np.testing.assert_allclose(two.sum(axis=1), 1.0)
    three = reversal_schedule(6, reversal_every=2, n_options=3)
    assert three.argmax(axis=1).tolist() == [0, 0, 1, 1, 2, 2]


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known models") as info:
        simulate_bandit("q_learning", {}, reversal_schedule(5), np.random.default_rng(0))
    assert all(name in str(info.value) for name in MODEL_PARAMS)


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": np.ones(3)},  # missing beta
        {"alpha": np.ones(3), "beta": np.ones(2)},  # shapes differ
        {"alpha": np.full(3, 1.5), "beta": np.ones(3)},  # learning rate out of range
    ],
)
def test_bad_parameters_are_rejected(params: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError):
        simulate_bandit("rw", params, reversal_schedule(5), np.random.default_rng(0))
