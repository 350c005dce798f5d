"""The Rescorla-Wagner (delta-rule) family with a softmax choice rule.

One kernel serves every variant: separate learning rates for positive and negative
prediction errors, and a perseveration bonus for repeating the last valid choice. A
variant only says which of its parameters feed which kernel slot.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import (
    Array,
    BehaviouralModel,
    LinearForm,
    Params,
    ParamSpec,
    Trial,
    softmax_logp,
)

KernelParams = tuple[Array, Array, Array, Array]  # alpha_pos, alpha_neg, beta, kappa
DeltaState = tuple[Array, Array]  # values [K], last valid choice one-hot [K]


def delta_rule_init(n_options: int) -> DeltaState:
    """Values start at 0 and there is no previous choice."""
    return jnp.zeros(n_options), jnp.zeros(n_options)


def delta_rule_emit(state: DeltaState, kp: KernelParams, trial: Trial) -> Array:
    """log p(choice) under softmax(beta * V + kappa * last); 0 on a masked trial."""
    values, last = state
    _, _, beta, kappa = kp
    choice, _, valid = trial
    return jnp.where(valid, softmax_logp(beta * values + kappa * last, choice), 0.0)


def delta_rule_step(state: DeltaState, kp: KernelParams, trial: Trial) -> tuple[DeltaState, Array]:
    """One trial: score the choice, then learn from its outcome."""
    values, last = state
    alpha_pos, alpha_neg, _, _ = kp
    choice, outcome, valid = trial
    chosen = (jnp.arange(values.shape[-1]) == choice).astype(values.dtype)
    delta = outcome - jnp.sum(values * chosen)
    rate = jnp.where(delta >= 0, alpha_pos, alpha_neg)
    new_values = values + jnp.where(valid, rate * delta, 0.0) * chosen
    new_last = jnp.where(valid, chosen, last)
    return (new_values, new_last), delta_rule_emit(state, kp, trial)


def delta_rule_coefficients(
    kp: KernelParams, trial: Trial, n_options: int
) -> tuple[DeltaState, DeltaState]:
    """(A, B) of the affine update; valid only when alpha_pos == alpha_neg (one rate).

    ``V' = (1 - a*m) * V + a*m*outcome`` and ``last' = (1 - valid) * last + m``, where
    ``m`` is the one-hot of a valid choice.
    """
    alpha, _, _, _ = kp
    choice, outcome, valid = trial
    chosen = jax.nn.one_hot(choice, n_options) * valid
    a_values = 1.0 - alpha * chosen
    b_values = alpha * chosen * outcome
    a_last = jnp.broadcast_to(1.0 - valid, (n_options,)).astype(a_values.dtype)
    return (a_values, a_last), (b_values, chosen.astype(a_values.dtype))


def _delta_rule_model(
    name: str,
    description: str,
    params: tuple[ParamSpec, ...],
    to_kernel: Callable[[Params], KernelParams],
    one_rate: bool,
) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel.

    ``one_rate``: the variant learns at one rate whatever the sign of the prediction
    error, which makes its update affine in the values (see :class:`LinearForm`).
    """

    def init(p: Params, n_options: int) -> DeltaState:
        return delta_rule_init(n_options)

    def step(state: DeltaState, p: Params, trial: Trial) -> tuple[DeltaState, Array]:
        return delta_rule_step(state, to_kernel(p), trial)

    linear = None
    if one_rate:
        linear = LinearForm(
            coefficients=lambda p, trial, k: delta_rule_coefficients(to_kernel(p), trial, k),
            emit=lambda state, p, trial: delta_rule_emit(state, to_kernel(p), trial),
        )
    return BehaviouralModel(name, description, params, init, step, linear)


ALPHA = ParamSpec("alpha", "probit", description="learning rate (0-1)")
ALPHA_POS = ParamSpec("alpha_pos", "probit", description="learning rate after positive PE")
ALPHA_NEG = ParamSpec("alpha_neg", "probit", description="learning rate after negative PE")
BETA = ParamSpec(
    "beta", "scaled_probit", upper=20.0, mean_loc=-1.0, description="inverse temperature (0-20)"
)
KAPPA = ParamSpec("kappa", "identity", description="perseveration bonus for the last choice")

RW = _delta_rule_model(
    "rw",
    "Rescorla-Wagner learning with a softmax choice rule",
    (ALPHA, BETA),
    lambda p: (p["alpha"], p["alpha"], p["beta"], jnp.zeros_like(p["beta"])),
    one_rate=True,
)
RW_DUAL = _delta_rule_model(
    "rw_dual",
    "Rescorla-Wagner with separate learning rates for positive and negative prediction errors",
    (ALPHA_POS, ALPHA_NEG, BETA),
    lambda p: (p["alpha_pos"], p["alpha_neg"], p["beta"], jnp.zeros_like(p["beta"])),
    one_rate=False,
)
RW_PERSEV = _delta_rule_model(
    "rw_persev",
    "Rescorla-Wagner with a softmax that adds a perseveration bonus to the last choice",
    (ALPHA, BETA, KAPPA),
    lambda p: (p["alpha"], p["alpha"], p["beta"], p["kappa"]),
    one_rate=True,
)
