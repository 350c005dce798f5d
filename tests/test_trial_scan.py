"""The likelihood's trial machinery, model-independent: block resets (both scans and the
chunked gradient), several responses per trial with their own masks, and stateless
models scored without a scan, each against a plain-NumPy loop."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cogfit.data import from_arrays
from cogfit.errors import ConfigError
from cogfit.likelihood import participant_log_lik, trial_log_probs, trial_outputs
from cogfit.models import get_model
from cogfit.models.base import implement
from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec
from cogfit.names import VALID, observed_key
from cogfit.runtime import precision


def _resetting(name: str):  # noqa: ANN202
    """A delta-rule model whose values restart at each block."""
    model = get_model(name)
    return dataclasses.replace(model, spec=dataclasses.replace(model.spec, block_reset=True))


def reference_rw(
    choices: np.ndarray,
    outcomes: np.ndarray,
    valid: np.ndarray,
    starts: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    n_options: int,
) -> np.ndarray:
    """Rescorla-Wagner with a softmax, values back to 0 at each block start."""
    out = np.zeros(choices.shape)
    for p in range(choices.shape[0]):
        values = np.zeros(n_options)
        for t in range(choices.shape[1]):
            if starts[p, t]:
                values = np.zeros(n_options)
            if not valid[p, t]:
                continue
            logits = beta[p] * values
            out[p, t] = logits[choices[p, t]] - np.log(np.exp(logits).sum())
            values[choices[p, t]] += alpha[p] * (outcomes[p, t] - values[choices[p, t]])
    return out


@pytest.fixture(scope="module")
def blocks() -> dict:
    rng = np.random.default_rng(4)
    n_p, n_t = 7, 40
    starts = np.zeros((n_p, n_t), bool)
    starts[:, [10, 25]] = True
    starts[3, [10, 25]] = False  # one participant in one long block
    starts[4, 5] = True
    valid = rng.random((n_p, n_t)) > 0.1
    valid[5, 30:] = False  # a shorter participant
    return {
        "choices": rng.integers(0, 3, (n_p, n_t)),
        "outcomes": rng.normal(0, 1, (n_p, n_t)),
        "valid": valid,
        "starts": starts,
        "alpha": rng.uniform(0.1, 0.9, n_p),
        "beta": rng.uniform(0.5, 4.0, n_p),
    }


@pytest.mark.parametrize("scan", ["sequential", "associative"])
def test_block_resets_restart_the_state(blocks: dict, scan: str) -> None:
    model = _resetting("rw")
    data = from_arrays(
        {"choice": blocks["choices"], "outcome": blocks["outcomes"]},
        blocks["valid"],
        block_start=blocks["starts"],
        n_options=3,
    )
    params = {k: np.asarray(blocks[k]) for k in ("alpha", "beta")}
    with precision("float64"):
        got = trial_log_probs(model, params, data.scan_inputs(model), 3, scan)
    expected = reference_rw(
        blocks["choices"],
        blocks["outcomes"],
        blocks["valid"],
        blocks["starts"],
        blocks["alpha"],
        blocks["beta"],
        3,
    )
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-9)
    ignoring = from_arrays(
        {"choice": blocks["choices"], "outcome": blocks["outcomes"]},
        blocks["valid"],
        block_start=blocks["starts"],
        n_options=3,
    )
    plain = np.asarray(
        trial_log_probs(get_model("rw"), params, ignoring.scan_inputs(get_model("rw")), 3)
    )
    assert not np.allclose(plain, expected, atol=1e-4)  # a model without resets ignores blocks


def test_chunked_gradient_with_block_resets(blocks: dict) -> None:
    model = _resetting("rw_dual")
    data = from_arrays(
        {"choice": blocks["choices"], "outcome": blocks["outcomes"]},
        blocks["valid"],
        block_start=blocks["starts"],
        n_options=3,
    )
    trials = data.scan_inputs(model)
    params = {
        "alpha_pos": np.asarray(blocks["alpha"]),
        "alpha_neg": blocks["alpha"][::-1].copy(),
        "beta": np.asarray(blocks["beta"]),
    }

    def total(p: dict, chunk: int) -> jnp.ndarray:
        return participant_log_lik(model, p, trials, 3, chunk=chunk).sum()

    with precision("float64"):
        whole = jax.grad(lambda p: total(p, 0))(params)
        chunked = jax.grad(lambda p: total(p, 3))(params)
        values = (total(params, 0), total(params, 3))
    np.testing.assert_allclose(float(values[0]), float(values[1]), rtol=1e-10)
    for name in params:
        np.testing.assert_allclose(np.asarray(chunked[name]), np.asarray(whole[name]), rtol=1e-9)


# --------------------------------------------------------------------------- two responses

TWO = ModelSpec(
    "two_responses",
    "a first choice of two, then a binary second response biased by the first",
    "test",
    (ParamSpec("bias", "identity"), ParamSpec("lean", "identity")),
    (),
    affine=False,
    reference="",
    columns=(
        ColumnSpec("first", "option", "first choice", response=True, levels=2),
        ColumnSpec("second", "binary", "second response", response=True, missing=True),
    ),
)


def _two_logits(state: jnp.ndarray, p: dict, trial: dict) -> dict:
    return {
        "first": jnp.stack([0.0, p["bias"] + state]),
        "second": jnp.stack([0.0, p["lean"] * (2.0 * trial["first"] - 1.0)]),
    }


def _two_update(state: jnp.ndarray, p: dict, trial: dict) -> jnp.ndarray:
    """The state counts the first choices of 1 on valid trials."""
    return state + jnp.where(trial[VALID], 0.1 * trial["first"], 0.0)


TWO_MODEL = implement(TWO, lambda p, k: jnp.zeros(()), _two_update, _two_logits, lambda s, p, t: {})


def reference_two(first, second, valid, has_second, bias, lean) -> np.ndarray:  # noqa: ANN001
    def logp(logit1: float, value: int) -> float:
        logits = np.array([0.0, logit1])
        return logits[value] - np.log(np.exp(logits).sum())

    out = np.zeros(first.shape)
    for p in range(first.shape[0]):
        count = 0.0
        for t in range(first.shape[1]):
            if not valid[p, t]:
                continue
            out[p, t] = logp(bias[p] + count, first[p, t])
            if has_second[p, t]:
                out[p, t] += logp(lean[p] * (2 * first[p, t] - 1), second[p, t])
            count += 0.1 * first[p, t]
    return out


def test_each_response_is_scored_where_it_was_observed() -> None:
    rng = np.random.default_rng(2)
    n_p, n_t = 5, 30
    first, second = rng.integers(0, 2, (n_p, n_t)), rng.integers(0, 2, (n_p, n_t))
    valid, has_second = rng.random((n_p, n_t)) > 0.1, rng.random((n_p, n_t)) > 0.3
    data = from_arrays({"first": first, "second": second}, valid, observed={"second": has_second})
    bias, lean = rng.normal(0, 1, n_p), rng.normal(0, 1, n_p)
    params = {"bias": bias, "lean": lean}
    with precision("float64"):
        got = trial_log_probs(TWO_MODEL, params, data.scan_inputs(TWO_MODEL), 2)
        outputs = trial_outputs(TWO_MODEL, params, data.scan_inputs(TWO_MODEL), 2)
    expected = reference_two(first, second, valid, valid & has_second, bias, lean)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)
    assert set(outputs) == {"log_probs", "log_probs_second"}
    np.testing.assert_allclose(np.exp(np.asarray(outputs["log_probs_second"])).sum(-1), 1.0)
    assert not data.trials[observed_key("second")][~valid].any()


# --------------------------------------------------------------------------- stateless

ONE_SHOT = ModelSpec(
    "one_shot",
    "a logistic choice of the larger of two amounts",
    "test",
    (ParamSpec("tau", "exp"),),
    (),
    affine=False,
    reference="",
    columns=(
        ColumnSpec("a", "real", "amount a"),
        ColumnSpec("b", "real", "amount b"),
        ColumnSpec("took_b", "binary", "chose b", response=True),
    ),
    stateless=True,
)
ONE_SHOT_MODEL = implement(
    ONE_SHOT,
    lambda p, k: (),
    lambda s, p, t: s,
    lambda s, p, t: jnp.stack([0.0, p["tau"] * (t["b"] - t["a"])]),
    lambda s, p, t: {},
)


def test_a_stateless_model_is_scored_trial_by_trial() -> None:
    rng = np.random.default_rng(3)
    n_p, n_t = 4, 25
    a, b = rng.normal(0, 1, (n_p, n_t)), rng.normal(0, 1, (n_p, n_t))
    took = rng.integers(0, 2, (n_p, n_t))
    valid = rng.random((n_p, n_t)) > 0.2
    data = from_arrays({"a": a, "b": b, "took_b": took}, valid)
    tau = rng.uniform(0.5, 3.0, n_p)
    with precision("float64"):
        got = trial_log_probs(ONE_SHOT_MODEL, {"tau": tau}, data.scan_inputs(ONE_SHOT_MODEL), 2)
        chunked = participant_log_lik(
            ONE_SHOT_MODEL, {"tau": tau}, data.scan_inputs(ONE_SHOT_MODEL), 2, chunk=2
        )
    x = tau[:, None] * (b - a)
    expected = np.where(valid, np.where(took == 1, -np.log1p(np.exp(-x)), -np.log1p(np.exp(x))), 0)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(chunked), expected.sum(-1), rtol=1e-9)


@pytest.mark.parametrize(
    ("model", "setting", "expected"),
    [
        ("rw", "model", False),
        ("rw", "always", True),
        ("prl_rp", "model", True),
        ("prl_rp", "never", False),
    ],
)
def test_a_datasets_block_reset_overrides_the_models(
    model: str, setting: str, expected: bool
) -> None:
    import json
    from dataclasses import asdict

    from cogfit.fitted import fitted_model

    overridden = get_model(model).with_block_reset(setting)
    assert overridden.spec.block_reset is expected
    # a fit records what it ran with, and the stages read the model back so
    attrs = {
        "model": model,
        "priors": json.dumps([asdict(p) for p in overridden.params]),
        "block_reset": int(expected),
    }
    assert fitted_model(attrs).spec.block_reset is expected
    data = from_arrays(
        {"choice": np.zeros((1, 4), int), "outcome": np.ones((1, 4))},
        np.ones((1, 4), bool),
        block_start=np.array([[0, 0, 1, 0]], bool),
    )
    assert ("reset" in data.scan_inputs(overridden)) is expected


# ---- a state per level of a code column (state_per) --------------------------------------

STIMULUS_COLUMNS = (
    ColumnSpec("stimulus", "code", "which of three stimuli was shown", levels=3),
    ColumnSpec("press", "binary", "pressed (1) or not", response=True),
    ColumnSpec("reward", "real", "the outcome"),
)


def _press_logits(value, p, trial):  # noqa: ANN001, ANN202
    return jnp.stack([jnp.zeros(()), p["beta"] * value])


PER_STIMULUS = implement(
    ModelSpec(
        "per_stimulus",
        "one value per stimulus, learnt from pressing it",
        "test",
        (ParamSpec("alpha", "probit"), ParamSpec("beta", "exp")),
        ("value",),
        affine=False,
        reference="test",
        columns=STIMULUS_COLUMNS,
        state_per="stimulus",
    ),
    lambda p, n: jnp.zeros(()),
    lambda v, p, t: jnp.where(t[VALID] & (t["press"] == 1), v + p["alpha"] * (t["reward"] - v), v),
    _press_logits,
    lambda v, p, t: {"value": v},
)


def test_level_sequences_lay_out_each_codes_trials_in_order() -> None:
    from cogfit.data import level_sequences

    codes = np.array([[2, 0, 2, 2, 1, 0], [1, 1, 0, 0, 0, 0]])
    present = np.array([[1, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 0]], bool)
    order, slot = level_sequences(codes, present, 3)
    # three sequences of 2 places each (the longest: participant 0's code 0 and 2)
    np.testing.assert_array_equal(order, [[1, 5, 4, 6, 0, 2], [2, 3, 0, 1, 6, 6]])
    np.testing.assert_array_equal(slot, [[4, 0, 5, 6, 2, 1], [2, 3, 0, 1, 6, 6]])


def test_a_state_per_level_model_against_a_loop() -> None:
    """Values per stimulus, unbalanced and with missed trials and a block reset, against a
    loop that keeps all three values; outputs land on their own trials."""
    rng = np.random.default_rng(12)
    n_p, n_t = 5, 30
    stimulus = rng.choice(3, (n_p, n_t), p=[0.6, 0.3, 0.1])
    press, reward = rng.integers(0, 2, (n_p, n_t)), rng.normal(0, 1, (n_p, n_t))
    valid = rng.random((n_p, n_t)) > 0.15
    valid[2, 20:] = False
    starts = np.zeros((n_p, n_t), bool)
    starts[:, 12] = True
    data = from_arrays(
        {"stimulus": stimulus, "press": press, "reward": reward}, valid, block_start=starts
    )
    alpha, beta = rng.uniform(0.1, 0.9, n_p), rng.uniform(0.5, 3.0, n_p)
    expected, values = np.zeros((n_p, n_t)), np.zeros((n_p, n_t))
    for p in range(n_p):
        v = np.zeros(3)
        for t in range(n_t):
            if starts[p, t]:
                v = np.zeros(3)
            s = stimulus[p, t]
            values[p, t] = v[s]
            if not valid[p, t]:
                continue
            x = beta[p] * v[s]
            expected[p, t] = x - np.log1p(np.exp(x)) if press[p, t] else -np.log1p(np.exp(x))
            if press[p, t]:
                v[s] += alpha[p] * (reward[p, t] - v[s])
    model = PER_STIMULUS.with_block_reset("always")
    inputs = data.scan_inputs(model)
    params = {"alpha": alpha, "beta": beta}
    with precision("float64"):
        got = trial_log_probs(model, params, inputs, 2)
        out = trial_outputs(model, params, inputs, 2)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(out["value"])[valid], values[valid], atol=1e-12)
    probs = np.exp(np.asarray(out["log_probs"]))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-12)  # uniform where no code
    without = {k: v for k, v in inputs.items() if not k.startswith("sequence_")}
    with pytest.raises(ConfigError, match="sequence layout"):
        trial_log_probs(model, params, without, 2)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("missing_one", "is not one of its columns"),
        ("reward", "expected a code column with levels"),
        ("press", "expected a code column with levels"),
    ],
)
def test_state_per_must_name_a_code_column(column: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(PER_STIMULUS.spec, state_per=column)
