"""Each model's log-likelihood against an independent plain NumPy loop (masked trials too)."""

from __future__ import annotations

import numpy as np
import pytest

from cogfit.errors import ConfigError
from cogfit.likelihood import participant_log_lik, trial_log_probs, trial_outputs
from cogfit.models import get_model
from cogfit.models.catalog import DELTA_RULE_SPECS
from cogfit.names import OBSERVED

MODELS = {s.name: get_model(s.name) for s in DELTA_RULE_SPECS}


def bandit_trials(choices: np.ndarray, outcomes: np.ndarray, mask: np.ndarray) -> dict:
    """The likelihood's trial mapping of bandit arrays as given (masked cells keep
    whatever they hold): int32 choices, float32 outcomes, every cell observed on a valid
    trial."""
    return {
        "choice": np.asarray(choices).astype(np.int32),
        "outcome": np.asarray(outcomes).astype(np.float32),
        "valid": mask,
        "has_choice": mask,
        "has_outcome": mask,
    }


def _softmax_logp(logits: np.ndarray, k: int) -> float:
    z = logits - logits.max()
    return float(z[k] - np.log(np.exp(z).sum()))


def reference_delta_rule(
    choices: np.ndarray,
    outcomes: np.ndarray,
    mask: np.ndarray,
    n_options: int,
    alpha_pos: np.ndarray,
    alpha_neg: np.ndarray,
    beta: np.ndarray,
    kappa: np.ndarray,
) -> np.ndarray:
    """Trial-by-trial log p(choice), written the way the model is described in the README."""
    n_p, n_t = choices.shape
    out = np.zeros((n_p, n_t))
    for p in range(n_p):
        values = [0.0] * n_options
        last = None
        for t in range(n_t):
            if not mask[p, t]:
                continue
            c = int(choices[p, t])
            logits = np.array(
                [beta[p] * values[k] + (kappa[p] if last == k else 0.0) for k in range(n_options)]
            )
            out[p, t] = _softmax_logp(logits, c)
            delta = outcomes[p, t] - values[c]
            values[c] += (alpha_pos[p] if delta >= 0 else alpha_neg[p]) * delta
            last = c
    return out


def reference_policy(
    choices: np.ndarray,
    outcomes: np.ndarray,
    mask: np.ndarray,
    n_options: int,
    alpha: np.ndarray,
    beta: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """rw: log p of every option and the values before each trial, along the observed
    history (Rescorla & Wagner 1972 with a softmax)."""
    n_p, n_t = choices.shape
    logp, values = np.zeros((n_p, n_t, n_options)), np.zeros((n_p, n_t, n_options))
    for p in range(n_p):
        v = np.zeros(n_options)
        for t in range(n_t):
            values[p, t] = v
            z = beta[p] * v - (beta[p] * v).max()
            logp[p, t] = z - np.log(np.exp(z).sum())
            if mask[p, t]:
                c = int(choices[p, t])
                v[c] += alpha[p] * (outcomes[p, t] - v[c])
    return logp, values


def reference(model: str, params: dict[str, np.ndarray], *data) -> np.ndarray:  # noqa: ANN002
    zero = np.zeros_like(params["beta"])
    if model == "rw":
        a = params["alpha"]
        return reference_delta_rule(*data, a, a, params["beta"], zero)
    if model == "rw_dual":
        return reference_delta_rule(
            *data, params["alpha_pos"], params["alpha_neg"], params["beta"], zero
        )
    if model == "rw_persev":
        a = params["alpha"]
        return reference_delta_rule(*data, a, a, params["beta"], params["kappa"])
    raise AssertionError(f"model {model!r} has no NumPy reference: write one here")


def random_params(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw natural-scale values inside each parameter's support."""
    out = {}
    for spec in MODELS[model].params:
        if spec.link in {"probit", "logistic"}:
            out[spec.name] = rng.uniform(0.02, 0.98, n)
        elif spec.link == "scaled_probit":
            out[spec.name] = rng.uniform(0.1, 0.6, n) * spec.upper
        elif spec.link in {"softplus", "exp"}:
            out[spec.name] = rng.uniform(0.1, 5.0, n)
        else:
            out[spec.name] = rng.normal(0.0, 1.5, n)
    return out


SCANS = [("sequential", m) for m in sorted(MODELS)] + [
    ("associative", m) for m in sorted(MODELS) if MODELS[m].linear is not None
]


@pytest.mark.parametrize(("scan", "model"), SCANS)
@pytest.mark.parametrize("n_options", [2, 3])
def test_loglik_matches_numpy_loop(scan: str, model: str, n_options: int) -> None:
    rng = np.random.default_rng(hash((model, n_options)) % 2**32)
    n_p, n_t = 7, 60
    choices = rng.integers(0, n_options, (n_p, n_t))
    outcomes = rng.normal(0.5, 1.0, (n_p, n_t)).round(2)  # signed PEs exercise both rates
    mask = rng.random((n_p, n_t)) > 0.2
    mask[0, :] = True
    mask[1, 40:] = False  # a shorter participant, padded at the end
    params = random_params(model, n_p, rng)
    expected = reference(model, params, choices, outcomes, mask, n_options)
    got = np.asarray(
        trial_log_probs(
            MODELS[model],
            {k: np.asarray(v, np.float32) for k, v in params.items()},
            bandit_trials(choices, outcomes, mask),
            n_options,
            scan,
        )
    )
    assert got.shape == (n_p, n_t)
    np.testing.assert_array_equal(got[~mask], 0.0)
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


def test_masked_trials_do_not_teach() -> None:
    """Garbage in masked cells must not change any valid trial's probability."""
    rng = np.random.default_rng(3)
    n_p, n_t = 4, 30
    choices = rng.integers(0, 2, (n_p, n_t)).astype(np.int32)
    outcomes = rng.integers(0, 2, (n_p, n_t)).astype(np.float32)
    mask = rng.random((n_p, n_t)) > 0.3
    model = MODELS["rw_persev"]
    params = {k: np.asarray(v, np.float32) for k, v in random_params("rw_persev", n_p, rng).items()}
    base = np.asarray(trial_log_probs(model, params, bandit_trials(choices, outcomes, mask), 2))
    noisy_c = np.where(mask, choices, 1 - choices).astype(np.int32)
    noisy_o = np.where(mask, outcomes, 99.0).astype(np.float32)
    noisy = bandit_trials(noisy_c, noisy_o, mask)
    everywhere = np.ones_like(mask)  # masked cells claim a value too
    noisy.update(has_choice=everywhere, has_outcome=everywhere)
    moved = np.asarray(trial_log_probs(model, params, noisy, 2))
    np.testing.assert_allclose(moved, base, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("model", [m for m in sorted(MODELS) if MODELS[m].linear is not None])
def test_associative_scan_equals_sequential(model: str) -> None:
    """Long sequences with gaps: the parallel-prefix scan agrees with the sequential one."""
    rng = np.random.default_rng(11)
    n_p, n_t, k = 16, 400, 3
    choices = rng.integers(0, k, (n_p, n_t)).astype(np.int32)
    outcomes = rng.normal(0.3, 1.0, (n_p, n_t)).astype(np.float32)
    mask = rng.random((n_p, n_t)) > 0.15
    mask[:4, 250:] = False  # short participants padded at the end
    params = {n: np.asarray(v, np.float32) for n, v in random_params(model, n_p, rng).items()}
    args = (MODELS[model], params, bandit_trials(choices, outcomes, mask), k)
    seq = np.asarray(trial_log_probs(*args, scan="sequential"))
    par = np.asarray(trial_log_probs(*args, scan="associative"))
    np.testing.assert_array_equal(par[~mask], 0.0)
    np.testing.assert_allclose(par, seq, rtol=1e-4, atol=1e-4)


def test_associative_scan_refuses_nonlinear_models() -> None:
    model = MODELS["rw_dual"]
    assert model.linear is None  # the learning rate depends on the sign of V's error
    params = {n: np.full(2, 0.5, np.float32) for n in model.param_names}
    z = np.zeros((2, 3), np.int32)
    trials = bandit_trials(z, z, z.astype(bool))
    with pytest.raises(ConfigError, match="associative"):
        trial_log_probs(model, params, trials, 2, "associative")


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("chunk", [1, 4, 7])
def test_participant_chunks_match_numpy_loop(model: str, chunk: int) -> None:
    """Participants in chunks (padded at the end: 11 is no multiple of 4 or 7) give each
    participant's summed log-likelihood of the NumPy loop, and the gradient of the whole
    sum equals the one computed with all participants at once."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(chunk)
    n_p, n_t, k = 11, 50, 3
    choices = rng.integers(0, k, (n_p, n_t))
    outcomes = rng.normal(0.5, 1.0, (n_p, n_t)).round(2)
    mask = rng.random((n_p, n_t)) > 0.2
    mask[2, 30:] = False  # a shorter participant
    mask[-1, :] = False  # the last participant (the padding's template) has no trials
    params = random_params(model, n_p, rng)
    expected = reference(model, params, choices, outcomes, mask, k).sum(axis=1)
    data = (bandit_trials(choices, outcomes, mask), k)
    p32 = {name: jnp.asarray(v, jnp.float32) for name, v in params.items()}

    def total(p: dict, size: int) -> jax.Array:
        return participant_log_lik(MODELS[model], p, *data, chunk=size).sum()

    got = np.asarray(participant_log_lik(MODELS[model], p32, *data, chunk=chunk))
    assert got.shape == (n_p,)
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-3)
    assert got[-1] == 0.0
    grad_chunks = jax.grad(total)(p32, chunk)
    grad_whole = jax.grad(total)(p32, 0)
    for name in params:
        np.testing.assert_allclose(grad_chunks[name], grad_whole[name], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_participant_chunks_derivatives(model: str) -> None:
    """The chunks' own derivative rule (values and per-participant partials in one pass)
    agrees with differentiating the unchunked likelihood: reverse mode with a different
    weight per participant, forward mode, a scalar shared by every participant, and under
    vmap and jit as NUTS and ADVI use it."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(7)
    n_p, n_t, k = 10, 40, 2
    data = (
        bandit_trials(
            rng.integers(0, k, (n_p, n_t)),
            rng.normal(0.5, 1.0, (n_p, n_t)),
            rng.random((n_p, n_t)) > 0.1,
        ),
        k,
    )
    p = {n: jnp.asarray(v, jnp.float32) for n, v in random_params(model, n_p, rng).items()}
    weights = jnp.asarray(rng.uniform(0.1, 2.0, n_p), jnp.float32)
    tangent = {n: jnp.asarray(rng.normal(size=n_p), jnp.float32) for n in p}
    close = {"rtol": 1e-4, "atol": 1e-4}

    def weighted(q: dict, size: int) -> jax.Array:
        return (weights * participant_log_lik(MODELS[model], q, *data, chunk=size)).sum()

    for size in (0, 3):  # reference first
        value, grad = jax.jit(jax.value_and_grad(weighted), static_argnums=1)(p, size)
        if size == 0:
            ref_value, ref_grad = value, grad
    np.testing.assert_allclose(value, ref_value, **close)
    for name in p:
        np.testing.assert_allclose(grad[name], ref_grad[name], **close)

    def per_participant(q: dict, size: int) -> jax.Array:
        return participant_log_lik(MODELS[model], q, *data, chunk=size)

    _, jvp_chunks = jax.jvp(lambda q: per_participant(q, 3), (p,), (tangent,))
    _, jvp_whole = jax.jvp(lambda q: per_participant(q, 0), (p,), (tangent,))
    np.testing.assert_allclose(jvp_chunks, jvp_whole, **close)

    def shared(s: jax.Array, size: int) -> jax.Array:  # every parameter moved by one scalar
        return weighted({n: v + 0.01 * s for n, v in p.items()}, size)

    np.testing.assert_allclose(jax.grad(shared)(0.5, 3), jax.grad(shared)(0.5, 0), **close)

    stacked = {n: jnp.stack([v, v * 0.9]) for n, v in p.items()}
    batched = jax.vmap(jax.grad(weighted), in_axes=(0, None))
    got, want = batched(stacked, 3), batched(stacked, 0)
    for name in p:
        np.testing.assert_allclose(got[name], want[name], **close)


@pytest.mark.parametrize("model", ["rw_persev", "rw_dual"])
def test_fit_log_likelihood_matches_numpy_loop_at_the_draws(model: str) -> None:
    """The per-participant log-likelihood a fit stores (for LOO/WAIC) is each draw's, as
    the NumPy loop computes it from that draw's parameters; masked trials count nothing."""
    from cogfit.fit import SamplerSettings, fit
    from cogfit.simulate import as_task_data

    rng = np.random.default_rng(7)
    n_p, n_t = 5, 40
    choices = rng.integers(0, 3, (n_p, n_t))
    outcomes = rng.normal(0.4, 1.0, (n_p, n_t)).round(2)
    valid = rng.random((n_p, n_t)) > 0.15
    data = as_task_data(choices, outcomes, valid, n_options=3)
    settings = SamplerSettings(chains=1, warmup=15, samples=4, metric="diag")
    idata = fit(model, data, settings, dataset="ll")
    got = idata.log_likelihood[OBSERVED].values[0]  # [draws, participants]
    assert got.shape == (4, n_p)
    assert "participant_log_lik" not in idata.posterior
    for d in range(4):
        params = {
            p: idata.posterior[p].values[0, d].astype(np.float64) for p in MODELS[model].param_names
        }
        trials = data.trials
        expected = reference(model, params, trials["choice"], trials["outcome"], data.mask, 3)
        np.testing.assert_allclose(got[d], expected.sum(axis=1), rtol=2e-4, atol=2e-3)


@pytest.mark.parametrize("n_options", [2, 4])
def test_trial_outputs_match_numpy_loop(n_options: int) -> None:
    """Every option's probability and the latents, along the observed history."""
    rng = np.random.default_rng(n_options)
    n_p, n_t = 5, 30
    choices = rng.integers(0, n_options, (n_p, n_t))
    outcomes = rng.normal(0.5, 1.0, (n_p, n_t)).round(2)
    mask = rng.random((n_p, n_t)) > 0.2
    params = random_params("rw", n_p, rng)
    logp, values = reference_policy(choices, outcomes, mask, n_options, **params)
    got = trial_outputs(
        MODELS["rw"],
        {k: np.asarray(v, np.float32) for k, v in params.items()},
        bandit_trials(choices, outcomes, mask),
        n_options,
    )
    assert set(got) == {"log_probs", *MODELS["rw"].latent_names}
    np.testing.assert_allclose(got["log_probs"], logp, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(got["value"], values, rtol=2e-4, atol=2e-4)
    chosen = np.take_along_axis(values, choices[..., None], -1)[..., 0]
    np.testing.assert_allclose(got["value_chosen"], chosen, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(got["prediction_error"], outcomes - chosen, rtol=2e-4, atol=2e-4)
