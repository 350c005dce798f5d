"""The two-step task's hybrid model (Daw, Gershman, Seymour, Dayan & Dolan 2011, Neuron
69:1204-1215), one kernel for hBayesDM's three variants.

On trial t the first choice ``c1`` (0 or 1) leads to state ``s`` (0 = A, reached commonly
from option 0; 1 = B), where the second choice ``c2`` (one of 4 options numbered
state-major, ``c2 // 2 == s``) earns reward ``r``. With model-free values ``Q1`` [2] of the
first stage and ``Q2`` [4] of the second (all 0 at the start):

* model-based values: ``Q_MB(c) = P(A|c) max(Q2[0], Q2[1]) + P(B|c) max(Q2[2], Q2[3])``
  with the fixed transition probabilities ``P(A|0) = P(B|1) = 0.7``;
* hybrid values: ``Q_net = w Q_MB + (1 - w) Q1``;
* first choice: ``P(c1 = c) = softmax_c(beta1 Q_net(c) + pi rep(c))``, ``rep(c) = 1`` when
  ``c`` was the previous first-stage choice (none before the first);
* second choice: ``P(c2 = b | s) = softmax_b(beta2 Q2[b])`` over the two options of ``s``;
* SARSA(lambda) learning: ``delta1 = Q2[c2] - Q1[c1]``, ``delta2 = r - Q2[c2]``, then
  ``Q1[c1] += a1 (delta1 + lambda delta2)`` and ``Q2[c2] += a2 delta2``.

``ts_par7`` is this model; ``ts_par6`` fixes ``lambda = 1``; ``ts_par4`` also uses one
learning rate ``a`` and one inverse temperature ``beta`` for both stages. ``pi`` sits
outside the inverse temperature (hBayesDM's parameterisation; Daw et al.'s ``p`` is
``pi / beta1``). ``delta2`` is the one second-stage prediction error of Daw et al.'s
TD(lambda), taken before ``Q2`` learns (hBayesDM's code takes the trace term's after).
With ``lambda = 1`` the first-stage update is ``Q1[c1] += a1 (r - Q1[c1])``: the
``Q2[c2]`` terms cancel, so par4 and par6 have an affine update (:class:`LinearForm`).

Missing responses: a trial without a first choice is missed (nothing is learned). A trial
with a first choice but no second scores the first choice only; one with both choices but
no reward scores both. In either case the first choice becomes the one ``rep`` refers to,
but no value learns, since SARSA's updates need the second-stage option and the reward.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.spec import ModelSpec
from cogfit.models.ts_spec import SPECS
from cogfit.names import VALID, observed_key

#: the common transition's probability (from first-stage option k to state k)
COMMON = 0.7
N_FIRST, N_SECOND = 2, 4
#: the packed state's layout: Q1 in [0, 2), Q2 in [2, 6), last in [6, 8)
Q2_AT, LAST_AT, N_SLOTS = N_FIRST, N_FIRST + N_SECOND, 2 * N_FIRST + N_SECOND

# a1, beta1, a2, beta2, pi, w, lambda (None: lambda = 1, decided statically); par4 passes
# its one rate and one inverse temperature twice
KernelParams = tuple[Array, Array, Array, Array, Array, Array, Array | None]
# one vector [8]: Q1 [2] first-stage model-free values, Q2 [4] second-stage values and
# last [2], the one-hot of the last first-stage choice. One leaf, updated elementwise (no
# concatenation), so the associative scan composes one array per trial, not three
TwoStepState = Array


def _split(state: TwoStepState) -> tuple[Array, Array, Array]:
    """(Q1, Q2, last) of the packed state."""
    return state[:Q2_AT], state[Q2_AT:LAST_AT], state[LAST_AT:]


def ts_init(kp: KernelParams, n_options: int) -> TwoStepState:
    """All values 0 and no previous choice (the task fixes 2 + 4 options, whatever the
    dataset's ``n_options``)."""
    return jnp.zeros(N_SLOTS)


def _model_based(q2: Array) -> Array:
    """``Q_MB`` [2]: each first-stage option's expected best second-stage value."""
    best_a = jnp.maximum(q2[0], q2[1])
    best_b = jnp.maximum(q2[2], q2[3])
    return jnp.stack(
        [COMMON * best_a + (1.0 - COMMON) * best_b, (1.0 - COMMON) * best_a + COMMON * best_b]
    )


def _net(q1: Array, q2: Array, w: Array) -> Array:
    """``Q_net = w Q_MB + (1 - w) Q1`` [2]."""
    return w * _model_based(q2) + (1.0 - w) * q1


def ts_logits(state: TwoStepState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """First stage: ``beta1 Q_net + pi last`` [2]. Second stage: ``beta2 Q2`` [4] with the
    options of the state not reached (``choice2 // 2``) at -inf."""
    q1, q2, last = _split(state)
    _, beta1, _, beta2, pi, w, _ = kp
    reached = jnp.arange(N_SECOND) // 2 == trial["choice2"] // 2
    return {
        "choice1": beta1 * _net(q1, q2, w) + pi * last,
        "choice2": jnp.where(reached, beta2 * q2, -jnp.inf),
    }


def _prediction_errors(state: TwoStepState, trial: Trial) -> tuple[Array, Array, Array]:
    """``delta1 = Q2[a2] - Q1[a1]``, ``delta2 = r - Q2[a2]`` and ``r - Q1[a1]``."""
    q1, q2, _ = _split(state)
    q1_chosen = jnp.sum(jnp.where(jnp.arange(N_FIRST) == trial["choice1"], q1, 0.0))
    q2_chosen = jnp.sum(jnp.where(jnp.arange(N_SECOND) == trial["choice2"], q2, 0.0))
    reward = trial["reward"]
    return q2_chosen - q1_chosen, reward - q2_chosen, reward - q1_chosen


def _learns(trial: Trial) -> Array:
    """An answered trial with both the second choice and the reward: values learn."""
    return trial[VALID] & trial[observed_key("choice2")] & trial[observed_key("reward")]


def ts_latents(state: TwoStepState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """The values before the trial and its prediction errors (0 where it teaches nothing)."""
    q1, q2, _ = _split(state)
    w = kp[5]
    delta1, delta2, _ = _prediction_errors(state, trial)
    learns = _learns(trial)
    return {
        "value_mf": q1,
        "value_mb": _model_based(q2),
        "value_net": _net(q1, q2, w),
        "value_stage2": q2,
        "prediction_error_1": jnp.where(learns, delta1, 0.0),
        "prediction_error_2": jnp.where(learns, delta2, 0.0),
    }


def _slots(trial: Trial, kp: KernelParams) -> tuple[Array, Array, Array, Array]:
    """Per slot of the packed state [8]: whether it holds Q1, whether it holds ``last``,
    whether it is the value (Q1 or Q2) of an option chosen on the trial, and its
    learning rate (``a1`` for Q1, ``a2`` for Q2)."""
    slot = jnp.arange(N_SLOTS)
    is_q1, is_last = slot < Q2_AT, slot >= LAST_AT
    chosen = (slot == trial["choice1"]) | (slot == trial["choice2"] + Q2_AT)
    return is_q1, is_last, chosen, jnp.where(is_q1, kp[0], kp[2])


def _last_choice(trial: Trial) -> Array:
    """[8]: the one-hot of the first choice in the ``last`` slots, 0 elsewhere."""
    return jnp.arange(N_SLOTS) == trial["choice1"] + LAST_AT


def ts_update(state: TwoStepState, kp: KernelParams, trial: Trial) -> TwoStepState:
    """SARSA(lambda) on a complete trial; the last first choice on every answered one."""
    lam = kp[6]
    is_q1, is_last, chosen, rate = _slots(trial, kp)
    delta1, delta2, to_reward = _prediction_errors(state, trial)
    # lambda = 1: delta1 + delta2 == r - Q1[a1], the form the affine update uses
    trace = to_reward if lam is None else delta1 + lam * delta2
    error = jnp.where(is_q1, trace, delta2)
    learned = state + jnp.where(chosen & _learns(trial), rate * error, 0.0)
    last = jnp.where(trial[VALID], _last_choice(trial).astype(state.dtype), state)
    return jnp.where(is_last, last, learned)


def ts_coefficients(
    kp: KernelParams, trial: Trial, n_options: int
) -> tuple[TwoStepState, TwoStepState]:
    """(A, B) of the affine update with ``lambda = 1``: ``Q1' = (1 - a1 m1) Q1 + a1 m1 r``,
    ``Q2' = (1 - a2 m2) Q2 + a2 m2 r`` and ``last' = (1 - valid) last + valid e1``, where
    ``m1``, ``m2`` are the one-hots of the chosen options on a trial that learns and
    ``e1`` that of the first choice."""
    if kp[6] is not None:
        raise ValueError("the two-step update is affine only with lambda = 1")
    _, is_last, chosen, rate = _slots(trial, kp)
    valid = trial[VALID]
    learns = chosen & _learns(trial)
    reward = jnp.where(learns, trial["reward"], 0.0)
    step = jnp.where(learns, rate, 0.0)
    a = jnp.where(is_last, 1.0 - valid, 1.0 - step)
    b = jnp.where(is_last, (_last_choice(trial) & valid).astype(reward.dtype), step * reward)
    return a.astype(reward.dtype), b


def _ts_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel; an affine spec has
    ``lambda = 1`` (its mapping gives None there)."""
    return implement_kernel(
        spec, to_kernel, ts_init, ts_update, ts_logits, ts_latents, ts_coefficients
    )


_SPECS = {spec.name: spec for spec in SPECS}

TS_PAR4 = _ts_model(
    _SPECS["ts_par4"],
    lambda p: (p["a"], p["beta"], p["a"], p["beta"], p["pi"], p["w"], None),
)
TS_PAR6 = _ts_model(
    _SPECS["ts_par6"],
    lambda p: (p["a1"], p["beta1"], p["a2"], p["beta2"], p["pi"], p["w"], None),
)
TS_PAR7 = _ts_model(
    _SPECS["ts_par7"],
    lambda p: (p["a1"], p["beta1"], p["a2"], p["beta2"], p["pi"], p["w"], p["lambda"]),
)
