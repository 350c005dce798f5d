"""The Rescorla-Wagner (delta-rule) family with a softmax choice rule.

One kernel serves every variant: separate learning rates for positive and negative
prediction errors, and a perseveration bonus for repeating the last valid choice. A
variant only says which of its parameters feed which kernel slot.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, ParamSpec, Trial, softmax_logp

KernelParams = tuple[Array, Array, Array, Array]  # alpha_pos, alpha_neg, beta, kappa
DeltaState = tuple[Array, Array]  # values [K], last valid choice one-hot [K]


def delta_rule_init(n_options: int) -> DeltaState:
    """Values start at 0 and there is no previous choice."""
    return jnp.zeros(n_options), jnp.zeros(n_options)


def delta_rule_step(state: DeltaState, kp: KernelParams, trial: Trial) -> tuple[DeltaState, Array]:
    """One trial: score the choice under softmax(beta*V + kappa*last), then learn from it."""
    values, last = state
    alpha_pos, alpha_neg, beta, kappa = kp
    choice, outcome, valid = trial
    logp = softmax_logp(beta * values + kappa * last, choice)
    chosen = jax.nn.one_hot(choice, values.shape[-1], dtype=values.dtype)
    delta = outcome - values[choice]
    rate = jnp.where(delta >= 0, alpha_pos, alpha_neg)
    values = values + jnp.where(valid, rate * delta, 0.0) * chosen
    last = jnp.where(valid, chosen, last)
    return (values, last), jnp.where(valid, logp, 0.0)


def _delta_rule_model(
    name: str,
    description: str,
    params: tuple[ParamSpec, ...],
    to_kernel: Callable[[Params], KernelParams],
) -> BehaviouralModel:
    def init(p: Params, n_options: int) -> DeltaState:
        return delta_rule_init(n_options)

    def step(state: DeltaState, p: Params, trial: Trial) -> tuple[DeltaState, Array]:
        return delta_rule_step(state, to_kernel(p), trial)

    return BehaviouralModel(name, description, params, init, step)


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
)
RW_DUAL = _delta_rule_model(
    "rw_dual",
    "Rescorla-Wagner with separate learning rates for positive and negative prediction errors",
    (ALPHA_POS, ALPHA_NEG, BETA),
    lambda p: (p["alpha_pos"], p["alpha_neg"], p["beta"], jnp.zeros_like(p["beta"])),
)
RW_PERSEV = _delta_rule_model(
    "rw_persev",
    "Rescorla-Wagner with a softmax that adds a perseveration bonus to the last choice",
    (ALPHA, BETA, KAPPA),
    lambda p: (p["alpha"], p["alpha"], p["beta"], p["kappa"]),
)
