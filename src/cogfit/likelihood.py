"""Run a behavioural model over a padded dataset: the state recursion, then the scores.

The sequential scan is time-major (one ``lax.scan`` over trials carrying every
participant's state), so the per-trial loop overhead is paid once for all participants,
and it scores each trial inside the loop (stacking the states to score them afterwards
moves more memory than it saves). Models with an affine update can replace the loop with
a parallel-prefix scan of logarithmic depth, which yields every trial's state at once.
A model that keeps one state per level of a code column (``state_per``) runs as one row
per participant and level, each over that level's trials only (:func:`_level_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from cogfit.errors import ConfigError
from cogfit.models.base import Array, BehaviouralModel
from cogfit.names import RESET, SEQUENCE_ORDER, SEQUENCE_SLOT, VALID, log_probs_key

SCANS = ("sequential", "associative")
Trials = Mapping[str, Array]  # [P, T] per key: a trial's columns and masks (see Trial)


def trial_log_probs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    trials: Trials,
    n_options: int,
    scan: str = "sequential",
) -> Array:
    """Log probability of each trial's observed responses, shape [P, T]; 0 on masked trials.

    ``params`` maps each parameter name to a [P] array on the natural scale; ``trials``
    each trial key (:data:`cogfit.models.base.Trial`) to a [P, T] array, and
    :data:`~cogfit.names.RESET` (optional) to where the state starts afresh. ``scan``:
    ``sequential`` (one time-major ``lax.scan``; every model) or ``associative`` (a
    parallel-prefix scan of logarithmic depth; models with a :class:`LinearForm`). A
    stateless model scores every trial at once, whatever the scan.
    """
    if model.spec.state_per is not None:
        params, rows, restore = _level_rows(model, params, trials)
        return restore(_log_probs(model, params, rows, n_options, scan))
    return _log_probs(model, params, trials, n_options, scan)


def _log_probs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    trials: Trials,
    n_options: int,
    scan: str,
) -> Array:
    """:func:`trial_log_probs` of rows that each run one state."""
    params = dict(params)
    xs, reset = _time_major(trials)
    if model.spec.stateless:
        return _every_trial(model.emit)(None, params, xs).T
    if scan == "sequential":
        step = jax.vmap(model.step)

        def body(state, x):  # noqa: ANN001, ANN202
            trial, restart = x
            return step(_restarted(state, state0, restart), params, trial)

        state0 = _initial_states(model, params, n_options)
        _, logp = jax.lax.scan(body, state0, (xs, reset))
        return logp.T
    if scan != "associative":
        raise ConfigError(f"unknown scan {scan!r}; expected one of {list(SCANS)}")
    before = _associative_states(model, params, xs, reset, n_options)
    return _every_trial(model.emit)(before, params, xs).T


def trial_outputs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    trials: Trials,
    n_options: int,
) -> dict[str, Array]:
    """Per trial, given each participant's observed history: ``log_probs`` [P, T, K] (the
    normalised log-probability of every value of the primary response; the others'
    under ``log_probs_<response>``) and the model's latents ([P, T] or [P, T, K] each,
    named by ``model.latent_names``), all on the state before the trial.

    Masked trials keep what the model returns there; callers mask them.
    """
    if model.spec.state_per is not None:
        params, rows, restore = _level_rows(model, params, trials)
        out = _outputs(model, params, rows, n_options)
        # a trial without the code gets uniform probabilities (and latents 0)
        uniform = {log_probs_key(model.responses, r) for r in model.responses}
        return {
            k: restore(v, -jnp.log(v.shape[-1]) if k in uniform else 0.0) for k, v in out.items()
        }
    return _outputs(model, params, trials, n_options)


def _outputs(
    model: BehaviouralModel, params: Mapping[str, Array], trials: Trials, n_options: int
) -> dict[str, Array]:
    """:func:`trial_outputs` of rows that each run one state."""
    params = dict(params)
    xs, reset = _time_major(trials)

    def one(state, p, trial):  # noqa: ANN001, ANN202
        policies = model.policies(state, p, trial)
        out = {log_probs_key(model.responses, r): v for r, v in policies.items()}
        out.update(model.latents(state, p, trial))
        return (None if state is None else model.update(state, p, trial)), out

    if model.spec.stateless:
        out = _every_trial(lambda s, p, t: one(s, p, t)[1])(None, params, xs)
        return {k: jnp.moveaxis(v, 0, 1) for k, v in out.items()}
    step = jax.vmap(one)

    def body(state, x):  # noqa: ANN001, ANN202
        trial, restart = x
        return step(_restarted(state, state0, restart), params, trial)

    state0 = _initial_states(model, params, n_options)
    _, out = jax.lax.scan(body, state0, (xs, reset))
    return {k: jnp.moveaxis(v, 0, 1) for k, v in out.items()}  # [T, P, ...] -> [P, T, ...]


def _level_rows(
    model: BehaviouralModel, params: Mapping[str, Array], trials: Trials
) -> tuple[dict[str, Array], dict[str, Array], Any]:
    """A ``state_per`` model's trials as one row per (participant, level) [P * L, S]
    holding that level's trials in order (:func:`cogfit.data.level_sequences`), each
    participant's parameters repeated for its L rows, and ``restore(out, fill=0)``:
    per-place outputs [P * L, S, ...] back at their trials [P, T, ...] (``fill`` for a
    trial without the code: a missed or padding trial).

    A block start between two of a level's trials resets that level's row there.
    """
    if SEQUENCE_ORDER not in trials:
        raise ConfigError(
            f"model {model.name!r} keeps a state per {model.spec.state_per!r}: its trials "
            "need the sequence layout of TaskData.scan_inputs(model)"
        )
    levels = int(model.spec.column(model.spec.state_per).levels)
    order, slot = jnp.asarray(trials[SEQUENCE_ORDER]), jnp.asarray(trials[SEQUENCE_SLOT])
    n_p, width = order.shape[0], order.shape[1] // levels

    def gather(x: Array) -> Array:
        x = jnp.asarray(x)
        x = jnp.concatenate([x, jnp.zeros_like(x[:, :1])], axis=1)  # place T: no trial
        return jnp.take_along_axis(x, order, axis=1).reshape(n_p * levels, width)

    layout = (SEQUENCE_ORDER, SEQUENCE_SLOT, RESET)
    rows = {k: gather(v) for k, v in trials.items() if k not in layout}
    if RESET in trials:
        block = gather(jnp.cumsum(jnp.asarray(trials[RESET], jnp.int32), axis=1))
        first = jnp.zeros_like(block[:, :1], dtype=bool)
        rows[RESET] = jnp.concatenate([first, block[:, 1:] != block[:, :-1]], axis=1)

    def restore(out: Array, fill: Any = 0.0) -> Array:
        out = out.reshape((n_p, levels * width) + out.shape[2:])
        out = jnp.concatenate([out, jnp.full_like(out[:, :1], fill)], axis=1)  # no place
        index = slot.reshape(slot.shape + (1,) * (out.ndim - 2))
        return jnp.take_along_axis(out, index, axis=1)

    repeated = {k: jnp.repeat(jnp.asarray(v), levels, axis=0) for k, v in params.items()}
    return repeated, rows, restore


def _time_major(trials: Trials) -> tuple[dict[str, Array], Array | None]:
    """The trial keys as [T, P] arrays, and the reset flags [T, P] (None: no resets)."""
    xs = {k: jnp.asarray(v).T for k, v in trials.items() if k != RESET}
    reset = trials.get(RESET)
    return xs, (None if reset is None else jnp.asarray(reset).T)


def _every_trial(fn: Any) -> Any:
    """``fn(state, params, trial)`` on every (trial, participant) at once: vmapped over
    participants, then over trials (params fixed); state leaves [T, P, ...] or None."""
    return jax.vmap(jax.vmap(fn), in_axes=(0, None, 0))


def _restarted(state: Any, state0: Any, restart: Array | None) -> Any:
    """Each participant's state, or its initial one where ``restart`` [P] is True."""
    if restart is None:
        return state

    def pick(s0: Array, s: Array) -> Array:
        return jnp.where(restart.reshape(restart.shape + (1,) * (s.ndim - 1)), s0, s)

    return jax.tree.map(pick, state0, state)


def _initial_states(model: BehaviouralModel, params: dict[str, Array], n_options: int) -> Any:
    """Every participant's state before the first trial (leaves [P, ...])."""
    return jax.vmap(lambda p: model.init(p, n_options))(params)


def _associative_states(
    model: BehaviouralModel,
    params: dict[str, Array],
    trials: dict[str, Array],
    reset: Array | None,
    n_options: int,
) -> Any:
    """The state before each trial (leaves [T, P, ...]) by composing the per-trial affine
    maps with ``associative_scan``; a reset before trial t makes trial t-1's map the
    constant one onto the initial state."""
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
    state0 = _initial_states(model, params, n_options)  # leaves [P, ...]
    if reset is not None:
        ends = jnp.concatenate([reset[1:], jnp.zeros_like(reset[:1])], axis=0)

        def flag(x: Array) -> Array:
            return ends.reshape(ends.shape + (1,) * (x.ndim - 2))

        b = jax.tree.map(lambda a_, b_, s0: jnp.where(flag(b_), s0, b_), a, b, state0)
        a = jax.tree.map(lambda a_: jnp.where(flag(a_), 0.0, a_), a)

    def compose(earlier, later):  # noqa: ANN001, ANN202
        """(later o earlier)(S) = a2 * (a1 * S + b1) + b2."""
        (a1, b1), (a2, b2) = earlier, later
        a = jax.tree.map(jnp.multiply, a2, a1)
        b = jax.tree.map(lambda x2, y1, y2: x2 * y1 + y2, a2, b1, b2)
        return a, b

    prefix_a, prefix_b = jax.lax.associative_scan(compose, (a, b), axis=0)
    after = jax.tree.map(lambda pa, pb, s0: pa * s0 + pb, prefix_a, prefix_b, state0)
    return jax.tree.map(lambda s0, s: jnp.concatenate([s0[None], s[:-1]], axis=0), state0, after)


def participant_log_lik(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    trials: Trials,
    n_options: int,
    scan: str = "sequential",
    chunk: int = 0,
) -> Array:
    """Summed log-likelihood of each participant's responses, shape [P].

    ``chunk`` > 0 (sequential scan): participants run in chunks of that many, one chunk
    after another (see :func:`_chunked_log_lik`). With many participants at once the
    loop's working set outgrows the CPU's caches and the gradient slows several-fold; a
    chunk's stays in them (docs/performance.md).
    """
    n_p = jnp.shape(trials[VALID])[0]
    if chunk <= 0 or n_p <= chunk or scan != "sequential" or model.spec.stateless:
        return trial_log_probs(model, params, trials, n_options, scan).sum(-1)
    return _chunked_log_lik(model, n_options, chunk)(dict(params), dict(trials))


def _chunked_log_lik(model: BehaviouralModel, n_options: int, chunk: int) -> Any:
    """``(params, trials) -> [P]`` in chunks of ``chunk`` participants, with a derivative
    rule that needs one pass over the chunks.

    A participant's log-likelihood depends on that participant's parameters only, so its
    derivatives are one number per participant and parameter. Each chunk's pass returns
    its values and those partials together (forward and backward pass of one chunk while
    it is in cache), and a tangent or cotangent is then an elementwise product: one pass
    over the loop, where reverse mode through the chunks under ``jax.checkpoint`` would
    run it twice. No derivatives with respect to the trials: they are observations.
    """

    def split(x: Array, pad: int, mode: str) -> Array:
        x = jnp.asarray(x)
        x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1), mode=mode)
        return x.reshape((-1, chunk) + x.shape[1:])

    def chunks(params: dict[str, Array], trials: dict[str, Array]) -> tuple:
        n_p = jnp.shape(trials[VALID])[0]
        pad = -n_p % chunk
        # padding participants repeat the last one's parameters (valid values) and have
        # no trials (valid False), so they add 0
        return n_p, (
            {k: split(v, pad, "edge") for k, v in params.items()},
            {k: split(v, pad, "constant") for k, v in trials.items()},
        )

    def chunk_log_lik(x: tuple) -> Array:
        p, t = x
        return trial_log_probs(model, p, t, n_options).sum(-1)

    def with_partials(x: tuple) -> tuple[Array, dict[str, Array]]:
        p, t = x
        values, pullback = jax.vjp(lambda q: chunk_log_lik((q, t)), p)
        (partials,) = pullback(jnp.ones_like(values))  # separable: d ll_i / d p_i
        return values, partials

    @jax.custom_jvp
    def log_lik(params: dict[str, Array], trials: dict[str, Array]) -> Array:
        n_p, xs = chunks(params, trials)
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
