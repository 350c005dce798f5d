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

A variant maps its parameters to the kernel's slots; an unused slot is decided statically
(``b`` or ``pi`` None, one ``rho`` passed twice), so its arithmetic never reaches the
compiled loop. The update is affine in the state given the trial (the sensitivity picks
on the observed outcome, not on a prediction error), so every variant has a
:class:`LinearForm` and can use the associative scan.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

N_CUES = 4
#: xi's floor inside the logarithm: its gradient stays finite where the link gives 0
_XI_FLOOR = 1e-30

# xi, ep, rho_rew, rho_pun (one array twice for one sensitivity), b, pi (None: unused)
KernelParams = tuple[Array, Array, Array, Array, Array | None, Array | None]
# Q(go, .) [4], Q(nogo, .) [4], V(.) [4] (None without a Pavlovian bias)
GngState = tuple[Array, Array, Array | None]


def gng_init(kp: KernelParams, n_options: int) -> GngState:
    """Every value starts at 0 (``n_options`` is unused: there are four cues, two actions)."""
    values = None if kp[5] is None else jnp.zeros(N_CUES)
    return jnp.zeros(N_CUES), jnp.zeros(N_CUES), values


def _cue(trial: Trial) -> Array:
    """One-hot [4] of the trial's cue."""
    return jnp.arange(N_CUES) == trial["cue"]


def _at(values: Array, hot: Array) -> Array:
    """The entry of ``values`` where the one-hot ``hot`` is True."""
    return jnp.sum(jnp.where(hot, values, 0.0))


def _target(kp: KernelParams, trial: Trial) -> Array:
    """The effective outcome ``rho * r`` the values move towards."""
    _, _, rho_rew, rho_pun, _, _ = kp
    outcome = trial["outcome"]
    rho = rho_rew if rho_rew is rho_pun else jnp.where(outcome >= 0, rho_rew, rho_pun)
    return rho * outcome


def _weights(state: GngState, kp: KernelParams, trial: Trial) -> tuple[Array, Array]:
    """``W(go, s)`` and ``W(nogo, s)`` of the trial's cue."""
    q_go, q_nogo, values = state
    _, _, _, _, b, pi = kp
    hot = _cue(trial)
    w_go = _at(q_go, hot)
    if b is not None:
        w_go = w_go + b
    if pi is not None:
        w_go = w_go + pi * _at(values, hot)
    return w_go, _at(q_nogo, hot)


def gng_logits(state: GngState, kp: KernelParams, trial: Trial) -> Array:
    """``[log p(no-go), log p(go)]`` (value 0 = no-go, 1 = go) of the lapse-mixed rule
    ``p(go) = (1 - xi) * sigmoid(W_go - W_nogo) + xi / 2``, each as a log-sum of its two
    terms (no underflow for large weight differences)."""
    xi = kp[0]
    w_go, w_nogo = _weights(state, kp, trial)
    diff = w_go - w_nogo
    keep = jnp.log1p(-xi)
    lapse = jnp.log(jnp.maximum(xi, _XI_FLOOR) * 0.5)
    log_go = jnp.logaddexp(keep + jax.nn.log_sigmoid(diff), lapse)
    log_nogo = jnp.logaddexp(keep + jax.nn.log_sigmoid(-diff), lapse)
    return jnp.stack([log_nogo, log_go])


def gng_latents(state: GngState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """For the trial's cue, before the trial: both actions' values and weights, the
    prediction error ``rho * r - Q(a, s)`` of the action taken, and (with a Pavlovian
    bias) the cue's value ``V(s)``."""
    q_go, q_nogo, values = state
    hot = _cue(trial)
    w_go, w_nogo = _weights(state, kp, trial)
    q_taken = jnp.where(trial["pressed"] == 1, _at(q_go, hot), _at(q_nogo, hot))
    out = {
        "q_go": _at(q_go, hot),
        "q_nogo": _at(q_nogo, hot),
        "w_go": w_go,
        "w_nogo": w_nogo,
        "prediction_error": _target(kp, trial) - q_taken,
    }
    if values is not None:
        out["stimulus_value"] = _at(values, hot)
    return out


def gng_coefficients(kp: KernelParams, trial: Trial, n_options: int) -> tuple[GngState, GngState]:
    """(A, B) of the affine update ``S' = A * S + B``: an entry learnt on this trial (the
    cue's value of the action taken, and the cue's value ``V``) gets ``A = 1 - ep`` and
    ``B = ep * rho * r``; all others ``A = 1, B = 0`` (also on a masked trial)."""
    ep = kp[1]
    hot = (_cue(trial) & trial[VALID]).astype(jnp.asarray(ep).dtype)
    go = hot * (trial["pressed"] == 1)
    nogo = hot * (trial["pressed"] == 0)
    step = ep * _target(kp, trial)
    a = (1.0 - ep * go, 1.0 - ep * nogo, None if kp[5] is None else 1.0 - ep * hot)
    b = (step * go, step * nogo, None if kp[5] is None else step * hot)
    return a, b


def gng_update(state: GngState, kp: KernelParams, trial: Trial) -> GngState:
    """Learn from one trial: the affine map of :func:`gng_coefficients` (identity on a
    masked trial)."""
    a, b = gng_coefficients(kp, trial, N_CUES)
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
