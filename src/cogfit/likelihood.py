"""Run a behavioural model over a padded dataset: the state recursion, then the scores.

The sequential scan is time-major (one ``lax.scan`` over trials carrying every
participant's state), so the per-trial loop overhead is paid once for all participants,
and it scores each trial inside the loop (stacking the states to score them afterwards
moves more memory than it saves). Models with an affine update can replace the loop with
a parallel-prefix scan of logarithmic depth, which yields every trial's state at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from cogfit.errors import ConfigError
from cogfit.models.base import Array, BehaviouralModel

SCANS = ("sequential", "associative")


def trial_log_probs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    choices: Array,
    outcomes: Array,
    mask: Array,
    n_options: int,
    scan: str = "sequential",
) -> Array:
    """Log probability of each observed choice, shape [P, T]; 0 on masked trials.

    ``params`` maps each parameter name to a [P] array on the natural scale. ``scan``:
    ``sequential`` (one time-major ``lax.scan``; every model) or ``associative`` (a
    parallel-prefix scan of logarithmic depth; models with a :class:`LinearForm`).
    """
    params = dict(params)
    # time-major trials: leaves [T, P]
    trials = (jnp.asarray(choices).T, jnp.asarray(outcomes).T, jnp.asarray(mask).T)
    if scan == "sequential":
        step = jax.vmap(model.step)

        def body(state, trial):  # noqa: ANN001, ANN202
            return step(state, params, trial)

        _, logp = jax.lax.scan(body, _initial_states(model, params, n_options), trials)
        return logp.T
    if scan != "associative":
        raise ConfigError(f"unknown scan {scan!r}; expected one of {list(SCANS)}")
    before = _associative_states(model, params, trials, n_options)
    # every (trial, participant) scored at once: vmap over trials, then participants
    emit = jax.vmap(jax.vmap(model.emit), in_axes=(0, None, 0))
    return emit(before, params, trials).T


def trial_outputs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    choices: Array,
    outcomes: Array,
    mask: Array,
    n_options: int,
) -> dict[str, Array]:
    """Per trial, given each participant's observed history: ``log_probs`` [P, T, K] (the
    normalised log-probability of every option) and the model's latents ([P, T] or
    [P, T, K] each, named by ``model.latent_names``), all on the state before the trial.

    Masked trials keep what the model returns there; callers mask them.
    """
    params = dict(params)
    trials = (jnp.asarray(choices).T, jnp.asarray(outcomes).T, jnp.asarray(mask).T)

    def one(state, p, trial):  # noqa: ANN001, ANN202
        out = {"log_probs": model.policy(state, p, trial), **model.latents(state, p, trial)}
        return model.update(state, p, trial), out

    step = jax.vmap(one)

    def body(state, trial):  # noqa: ANN001, ANN202
        return step(state, params, trial)

    _, out = jax.lax.scan(body, _initial_states(model, params, n_options), trials)
    return {k: jnp.moveaxis(v, 0, 1) for k, v in out.items()}  # [T, P, ...] -> [P, T, ...]


def _initial_states(model: BehaviouralModel, params: dict[str, Array], n_options: int) -> Any:
    """Every participant's state before the first trial (leaves [P, ...])."""
    return jax.vmap(lambda p: model.init(p, n_options))(params)


def _associative_states(
    model: BehaviouralModel, params: dict[str, Array], trials: tuple, n_options: int
) -> Any:
    """The state before each trial (leaves [T, P, ...]) by composing the per-trial affine
    maps with ``associative_scan``."""
    if model.linear is None:
        raise ConfigError(
            f"model {model.name!r} has no linear (affine) state update, so it cannot use "
            "scan: associative; use scan: sequential"
        )
    linear = model.linear

    def coefficients(p, trial):  # noqa: ANN001, ANN202
        return linear.coefficients(p, trial, n_options)

    # [T, P, ...] coefficients: vmap over participants, then over trials (params fixed)
    a, b = jax.vmap(jax.vmap(coefficients), in_axes=(None, 0))(params, trials)

    def compose(earlier, later):  # noqa: ANN001, ANN202
        """(later o earlier)(S) = a2 * (a1 * S + b1) + b2."""
        (a1, b1), (a2, b2) = earlier, later
        a = jax.tree.map(jnp.multiply, a2, a1)
        b = jax.tree.map(lambda x2, y1, y2: x2 * y1 + y2, a2, b1, b2)
        return a, b

    prefix_a, prefix_b = jax.lax.associative_scan(compose, (a, b), axis=0)
    state0 = _initial_states(model, params, n_options)  # leaves [P, ...]
    after = jax.tree.map(lambda pa, pb, s0: pa * s0 + pb, prefix_a, prefix_b, state0)
    return jax.tree.map(lambda s0, s: jnp.concatenate([s0[None], s[:-1]], axis=0), state0, after)


def participant_log_lik(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    choices: Array,
    outcomes: Array,
    mask: Array,
    n_options: int,
    scan: str = "sequential",
    chunk: int = 0,
) -> Array:
    """Summed log-likelihood of each participant's choices, shape [P].

    ``chunk`` > 0 (sequential scan): participants run in chunks of that many, one chunk
    after another (see :func:`_chunked_log_lik`). With many participants at once the
    loop's working set outgrows the CPU's caches and the gradient slows several-fold; a
    chunk's stays in them (docs/performance.md).
    """
    n_p = jnp.shape(choices)[0]
    if chunk <= 0 or n_p <= chunk or scan != "sequential":
        return trial_log_probs(model, params, choices, outcomes, mask, n_options, scan).sum(-1)
    return _chunked_log_lik(model, n_options, chunk)(dict(params), choices, outcomes, mask)


def _chunked_log_lik(model: BehaviouralModel, n_options: int, chunk: int) -> Any:
    """``(params, choices, outcomes, mask) -> [P]`` in chunks of ``chunk`` participants,
    with a derivative rule that needs one pass over the chunks.

    A participant's log-likelihood depends on that participant's parameters only, so its
    derivatives are one number per participant and parameter. Each chunk's pass returns
    its values and those partials together (forward and backward pass of one chunk while
    it is in cache), and a tangent or cotangent is then an elementwise product: one pass
    over the loop, where reverse mode through the chunks under ``jax.checkpoint`` would
    run it twice. No derivatives with respect to the data (choices, outcomes, mask): they
    are observations.
    """

    def split(x: Array, pad: int, mode: str) -> Array:
        x = jnp.asarray(x)
        x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1), mode=mode)
        return x.reshape((-1, chunk) + x.shape[1:])

    def chunks(params: dict[str, Array], choices: Array, outcomes: Array, mask: Array) -> tuple:
        n_p = jnp.shape(choices)[0]
        pad = -n_p % chunk
        # padding participants repeat the last one's parameters (valid values) and have
        # no trials (mask False), so they add 0
        return n_p, (
            {k: split(v, pad, "edge") for k, v in params.items()},
            split(choices, pad, "constant"),
            split(outcomes, pad, "constant"),
            split(mask, pad, "constant"),
        )

    def chunk_log_lik(x: tuple) -> Array:
        p, c, o, m = x
        return trial_log_probs(model, p, c, o, m, n_options).sum(-1)

    def with_partials(x: tuple) -> tuple[Array, dict[str, Array]]:
        p, c, o, m = x
        values, pullback = jax.vjp(lambda q: chunk_log_lik((q, c, o, m)), p)
        (partials,) = pullback(jnp.ones_like(values))  # separable: d ll_i / d p_i
        return values, partials

    @jax.custom_jvp
    def log_lik(params: dict[str, Array], choices: Array, outcomes: Array, mask: Array) -> Array:
        n_p, xs = chunks(params, choices, outcomes, mask)
        return jax.lax.map(chunk_log_lik, xs).reshape(-1)[:n_p]

    @log_lik.defjvp
    def log_lik_jvp(primals: tuple, tangents: tuple) -> tuple[Array, Array]:
        params = primals[0]
        n_p, xs = chunks(*primals)
        values, partials = jax.lax.map(with_partials, xs)
        values = values.reshape(-1)[:n_p]
        tangent = sum(partials[k].reshape(-1)[:n_p] * tangents[0][k] for k in sorted(params))
        return values, jnp.zeros_like(values) + tangent

    return log_lik
