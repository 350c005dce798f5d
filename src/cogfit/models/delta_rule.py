"""The Rescorla-Wagner (delta-rule) family with a softmax choice rule.

One kernel serves every variant: separate learning rates for positive and negative
prediction errors, and a perseveration bonus for repeating the last valid choice. A
variant only says which of its parameters feed which kernel slot. A slot a variant does
not use is decided statically (one learning rate passed twice, ``kappa=None``), so its
arithmetic and state never reach the compiled loop.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

# alpha_pos, alpha_neg (the same array for one rate), beta, kappa (None: no perseveration)
KernelParams = tuple[Array, Array, Array, Array | None]
# values [K], last valid choice one-hot [K] (None without perseveration)
DeltaState = tuple[Array, Array | None]


def delta_rule_init(kp: KernelParams, n_options: int) -> DeltaState:
    """Values start at 0 and there is no previous choice."""
    last = None if kp[3] is None else jnp.zeros(n_options)
    return jnp.zeros(n_options), last


def delta_rule_logits(state: DeltaState, kp: KernelParams, trial: Trial) -> Array:
    """The softmax's logits ``beta * V + kappa * last`` of every option."""
    values, last = state
    _, _, beta, kappa = kp
    return beta * values if kappa is None else beta * values + kappa * last


def delta_rule_latents(state: DeltaState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """Every option's value before the trial, the chosen one's, and the prediction error
    ``outcome - V[choice]`` the update learns from."""
    values, _ = state
    picked = jnp.arange(values.shape[-1]) == trial["choice"]
    chosen = jnp.sum(jnp.where(picked, values, 0.0))
    return {"value": values, "value_chosen": chosen, "prediction_error": trial["outcome"] - chosen}


def delta_rule_update(state: DeltaState, kp: KernelParams, trial: Trial) -> DeltaState:
    """Learn from one trial: move the chosen value towards the outcome."""
    values, last = state
    alpha_pos, alpha_neg, _, _ = kp
    valid = trial[VALID]
    chosen = (jnp.arange(values.shape[-1]) == trial["choice"]).astype(values.dtype)
    delta = trial["outcome"] - jnp.sum(values * chosen)
    rate = alpha_pos if alpha_pos is alpha_neg else jnp.where(delta >= 0, alpha_pos, alpha_neg)
    new_values = values + jnp.where(valid, rate * delta, 0.0) * chosen
    new_last = None if last is None else jnp.where(valid, chosen, last)
    return new_values, new_last


def delta_rule_coefficients(
    kp: KernelParams, trial: Trial, n_options: int
) -> tuple[DeltaState, DeltaState]:
    """(A, B) of the affine update; valid only when alpha_pos == alpha_neg (one rate).

    ``V' = (1 - a*m) * V + a*m*outcome`` and ``last' = (1 - valid) * last + m``, where
    ``m`` is the one-hot of a valid choice.
    """
    alpha, _, _, _ = kp
    valid = trial[VALID]
    chosen = jax.nn.one_hot(trial["choice"], n_options) * valid
    a_values = 1.0 - alpha * chosen
    b_values = alpha * chosen * trial["outcome"]
    if kp[3] is None:
        return (a_values, None), (b_values, None)
    a_last = jnp.broadcast_to(1.0 - valid, (n_options,)).astype(a_values.dtype)
    return (a_values, a_last), (b_values, chosen.astype(a_values.dtype))


def _delta_rule_model(
    spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]
) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel.

    An affine spec learns at one rate whatever the sign of the prediction error, which
    makes its update affine in the values (see :class:`LinearForm`).
    """
    return implement_kernel(
        spec,
        to_kernel,
        delta_rule_init,
        delta_rule_update,
        delta_rule_logits,
        delta_rule_latents,
        delta_rule_coefficients,
    )


RW = _delta_rule_model(SPECS["rw"], lambda p: (p["alpha"], p["alpha"], p["beta"], None))
RW_DUAL = _delta_rule_model(
    SPECS["rw_dual"], lambda p: (p["alpha_pos"], p["alpha_neg"], p["beta"], None)
)
RW_PERSEV = _delta_rule_model(
    SPECS["rw_persev"], lambda p: (p["alpha"], p["alpha"], p["beta"], p["kappa"])
)
