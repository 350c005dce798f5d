"""Run a behavioural model over a padded dataset: vmap over participants, scan over trials.

The scan is time-major (one ``lax.scan`` over trials carrying every participant's state),
which keeps the per-trial loop overhead paid once for all participants rather than once
per participant.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel


def trial_log_probs(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    choices: Array,
    outcomes: Array,
    mask: Array,
    n_options: int,
) -> Array:
    """Log probability of each observed choice, shape [P, T]; 0 on masked trials.

    ``params`` maps each parameter name to a [P] array on the natural scale.
    """
    params = dict(params)
    state0 = jax.vmap(lambda p: model.init(p, n_options))(params)
    step = jax.vmap(model.step)

    def body(state, xs):  # noqa: ANN001, ANN202
        state, logp = step(state, params, xs)
        return state, logp

    xs = (jnp.asarray(choices).T, jnp.asarray(outcomes).T, jnp.asarray(mask).T)
    _, logp = jax.lax.scan(body, state0, xs)
    return logp.T


def participant_log_lik(
    model: BehaviouralModel,
    params: Mapping[str, Array],
    choices: Array,
    outcomes: Array,
    mask: Array,
    n_options: int,
) -> Array:
    """Summed log-likelihood of each participant's choices, shape [P]."""
    return trial_log_probs(model, params, choices, outcomes, mask, n_options).sum(axis=-1)
