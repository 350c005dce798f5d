"""The orthogonalised go/no-go family (Guitart-Masip et al. 2012, NeuroImage 62:154-166).

One kernel serves ``gng_m1``..``gng_m4``. Per cue ``s`` (four cues) it learns the
instrumental values ``Q(go, s)`` and ``Q(nogo, s)`` of the action taken, and, with a
Pavlovian bias, the cue's value ``V(s)``, all starting at 0::

    Q(a_t, s_t) <- Q(a_t, s_t) + ep * (rho * r_t - Q(a_t, s_t))
    V(s_t)      <- V(s_t)      + ep * (rho * r_t - V(s_t))

(``gng_m4``: ``rho`` is ``rhoRew`` for a reward ``r_t > 0`` and ``rhoPun`` for a
punishment ``r_t < 0``; Cavanagh et al. 2013). The action weights and the choice rule::

    W(go, s)   = Q(go, s) + b + pi * V(s)
    W(nogo, s) = Q(nogo, s)
    p(go | s)  = (1 - xi) * sigmoid(W(go, s) - W(nogo, s)) + xi / 2

The cues never share a value, so the spec keeps a state per cue (``state_per="cue"``):
the functions below are one cue's, and see its trials in order. A variant maps its
parameters to the kernel's slots; an unused slot is decided statically (``b`` or ``pi``
None, one ``rho`` passed twice), so its arithmetic never reaches the compiled loop. The
update is affine in the state given the trial (the sensitivity picks on the observed
outcome, not on a prediction error), so every variant has a :class:`LinearForm` and can
use the associative scan.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

#: xi's floor inside the logarithm: its gradient stays finite where the link gives 0
_XI_FLOOR = 1e-30

# xi, ep, rho_rew, rho_pun (one array twice for one sensitivity), b, pi (None: unused)
KernelParams = tuple[Array, Array, Array, Array, Array | None, Array | None]
# one cue's Q(go), Q(nogo) and V (None without a Pavlovian bias)
GngState = tuple[Array, Array, Array | None]


def gng_init(kp: KernelParams, n_options: int) -> GngState:
    """Every value starts at 0 (``n_options`` is unused: two actions)."""
    zero = jnp.zeros(())
    return zero, zero, (None if kp[5] is None else zero)


def _target(kp: KernelParams, trial: Trial) -> Array:
    """The effective outcome ``rho * r`` the values move towards."""
    _, _, rho_rew, rho_pun, _, _ = kp
    outcome = trial["outcome"]
    rho = rho_rew if rho_rew is rho_pun else jnp.where(outcome >= 0, rho_rew, rho_pun)
    return rho * outcome


def _weights(state: GngState, kp: KernelParams) -> tuple[Array, Array]:
    """``W(go, s)`` and ``W(nogo, s)`` of the cue."""
    q_go, q_nogo, value = state
    _, _, _, _, b, pi = kp
    w_go = q_go
    if b is not None:
        w_go = w_go + b
    if pi is not None:
        w_go = w_go + pi * value
    return w_go, q_nogo


def gng_logits(state: GngState, kp: KernelParams, trial: Trial) -> Array:
    """``[log p(no-go), log p(go)]`` (value 0 = no-go, 1 = go) of the lapse-mixed rule
    ``p(go) = (1 - xi) * sigmoid(W_go - W_nogo) + xi / 2``.

    Both sigmoids come from one ``exp(-|W_go - W_nogo|)``, so neither underflows before
    its term is negligible; the lapse term ``xi / 2`` is at least ``_XI_FLOOR / 2``, so
    each probability stays positive however large the weight difference.
    """
    xi = kp[0]
    w_go, w_nogo = _weights(state, kp)
    diff = w_go - w_nogo
    tail = jnp.exp(-jnp.abs(diff))
    high, low = 1.0 / (1.0 + tail), tail / (1.0 + tail)  # sigmoid(|diff|), sigmoid(-|diff|)
    ahead = diff >= 0
    keep, lapse = 1.0 - xi, jnp.maximum(xi, _XI_FLOOR) * 0.5
    log_go = jnp.log(lapse + keep * jnp.where(ahead, high, low))
    log_nogo = jnp.log(lapse + keep * jnp.where(ahead, low, high))
    return jnp.stack([log_nogo, log_go])


def gng_latents(state: GngState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """For the trial's cue, before the trial: both actions' values and weights, the
    prediction error ``rho * r - Q(a, s)`` of the action taken, and (with a Pavlovian
    bias) the cue's value ``V(s)``."""
    q_go, q_nogo, value = state
    w_go, w_nogo = _weights(state, kp)
    q_taken = jnp.where(trial["pressed"] == 1, q_go, q_nogo)
    out = {
        "q_go": q_go,
        "q_nogo": q_nogo,
        "w_go": w_go,
        "w_nogo": w_nogo,
        "prediction_error": _target(kp, trial) - q_taken,
    }
    if value is not None:
        out["stimulus_value"] = value
    return out


def gng_coefficients(kp: KernelParams, trial: Trial, n_options: int) -> tuple[GngState, GngState]:
    """(A, B) of the affine update ``S' = A * S + B``: what this trial teaches (the value
    of the action taken, and the cue's value ``V``) gets ``A = 1 - ep`` and
    ``B = ep * rho * r``; the other action's value ``A = 1, B = 0`` (both on a masked
    trial)."""
    ep = kp[1]
    learn = trial[VALID].astype(jnp.asarray(ep).dtype)
    go = learn * (trial["pressed"] == 1)
    nogo = learn * (trial["pressed"] == 0)
    step = ep * _target(kp, trial)
    a = (1.0 - ep * go, 1.0 - ep * nogo, None if kp[5] is None else 1.0 - ep * learn)
    b = (step * go, step * nogo, None if kp[5] is None else step * learn)
    return a, b


def gng_update(state: GngState, kp: KernelParams, trial: Trial) -> GngState:
    """Learn from one trial: the affine map of :func:`gng_coefficients` (identity on a
    masked trial)."""
    a, b = gng_coefficients(kp, trial, 2)
    return jax.tree.map(lambda a_, s, b_: a_ * s + b_, a, state, b)


def _gng_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel."""
    return implement_kernel(
        spec, to_kernel, gng_init, gng_update, gng_logits, gng_latents, gng_coefficients
    )


GNG_M1 = _gng_model(SPECS["gng_m1"], lambda p: (p["xi"], p["ep"], p["rho"], p["rho"], None, None))
GNG_M2 = _gng_model(SPECS["gng_m2"], lambda p: (p["xi"], p["ep"], p["rho"], p["rho"], p["b"], None))
GNG_M3 = _gng_model(
    SPECS["gng_m3"], lambda p: (p["xi"], p["ep"], p["rho"], p["rho"], p["b"], p["pi"])
)
GNG_M4 = _gng_model(
    SPECS["gng_m4"], lambda p: (p["xi"], p["ep"], p["rhoRew"], p["rhoPun"], p["b"], p["pi"])
)
