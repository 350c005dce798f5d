"""The probabilistic selection task family (Frank et al. 2007, PNAS 104:16311-16316).

One kernel serves ``pst_Q`` and ``pst_gainloss_Q``. The state is one value per stimulus
(six, starting at 0). A trial's pair code ``10 * first + second`` (stimuli 1..6) is
decoded here, ``first = pair // 10 - 1`` and ``second = pair % 10 - 1``; the response is
1 when the first stimulus was chosen. With ``c`` the chosen stimulus and ``r`` the reward::

    p(first) = sigmoid(beta * (Q[first] - Q[second]))
    delta    = r - Q[c]
    Q[c]    <- Q[c] + alpha * delta       alpha = alpha_pos if delta >= 0 else alpha_neg

(Frank et al.'s ``Q <- Q + alpha_G * delta+ + alpha_L * delta-``; their softmax divides
by a temperature, hBayesDM's ``beta`` multiplies as an inverse temperature.) A trial
without a reward (a test phase) is scored but teaches nothing. ``pst_Q`` passes one rate
twice (decided statically): its update is then affine in the values, so it has a
:class:`LinearForm`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID, observed_key

N_STIMULI = 6
HAS_REWARD = observed_key("reward")

# alpha_pos, alpha_neg (the same array for one rate), beta
KernelParams = tuple[Array, Array, Array]
# Q [6]: one value per stimulus
PstState = Array


def pst_init(kp: KernelParams, n_options: int) -> PstState:
    """Every stimulus's value starts at 0 (``n_options`` is unused: two per pair)."""
    return jnp.zeros(N_STIMULI)


def _stimuli(trial: Trial) -> tuple[Array, Array, Array]:
    """One-hots [6] of the pair's first and second stimuli and of the chosen one (all
    zero on a padding trial, whose pair code is 0)."""
    stimuli = jnp.arange(N_STIMULI)
    first = stimuli == trial["pair"] // 10 - 1
    second = stimuli == trial["pair"] % 10 - 1
    return first, second, jnp.where(trial["choice"] == 1, first, second)


def _at(values: Array, hot: Array) -> Array:
    """The entry of ``values`` where the one-hot ``hot`` is True."""
    return jnp.sum(jnp.where(hot, values, 0.0))


def pst_logits(state: PstState, kp: KernelParams, trial: Trial) -> Array:
    """``[beta * Q[second], beta * Q[first]]``: value 1 = the first stimulus chosen."""
    first, second, _ = _stimuli(trial)
    beta = kp[2]
    return beta * jnp.stack([_at(state, second), _at(state, first)])


def pst_latents(state: PstState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """Every stimulus's value before the trial, the pair's two and the chosen one's, and
    the prediction error ``r - Q[c]`` (NaN on a trial without feedback)."""
    first, second, chosen = _stimuli(trial)
    value_chosen = _at(state, chosen)
    error = jnp.where(trial[HAS_REWARD], trial["reward"] - value_chosen, jnp.nan)
    return {
        "value": state,
        "value_first": _at(state, first),
        "value_second": _at(state, second),
        "value_chosen": value_chosen,
        "prediction_error": error,
    }


def _learnt(trial: Trial, dtype: jnp.dtype) -> Array:
    """One-hot [6] of the stimulus this trial teaches: the chosen one, on an answered
    trial with a reward; all zero otherwise."""
    _, _, chosen = _stimuli(trial)
    return (chosen & trial[VALID] & trial[HAS_REWARD]).astype(dtype)


def pst_update(state: PstState, kp: KernelParams, trial: Trial) -> PstState:
    """Learn from one trial: move the chosen stimulus's value towards the reward, at
    ``alpha_pos`` or ``alpha_neg`` by the prediction error's sign."""
    alpha_pos, alpha_neg, _ = kp
    learnt = _learnt(trial, state.dtype)
    delta = trial["reward"] - jnp.sum(state * learnt)
    rate = alpha_pos if alpha_pos is alpha_neg else jnp.where(delta >= 0, alpha_pos, alpha_neg)
    return state + rate * delta * learnt


def pst_coefficients(kp: KernelParams, trial: Trial, n_options: int) -> tuple[Array, Array]:
    """(A, B) of the affine update, valid with one rate: ``Q' = (1 - a*m) * Q + a*m*r``,
    with ``m`` the one-hot of the stimulus learnt (:func:`_learnt`)."""
    alpha = kp[0]
    learnt = _learnt(trial, jnp.asarray(alpha).dtype)
    return 1.0 - alpha * learnt, alpha * learnt * trial["reward"]


def _pst_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel; an affine spec learns at
    one rate."""
    return implement_kernel(
        spec, to_kernel, pst_init, pst_update, pst_logits, pst_latents, pst_coefficients
    )


PST_Q = _pst_model(SPECS["pst_Q"], lambda p: (p["alpha"], p["alpha"], p["beta"]))
PST_GAINLOSS_Q = _pst_model(
    SPECS["pst_gainloss_Q"], lambda p: (p["alpha_pos"], p["alpha_neg"], p["beta"])
)
