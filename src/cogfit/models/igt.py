"""The Iowa gambling task family: one kernel for PVL-Delta, PVL-Decay, VPP and ORL.

Each trial's net outcome is ``x = gain - |loss|`` (the data's units; see
:mod:`cogfit.models.igt_spec`). With ``m_j`` = 1 for the chosen deck ``j`` (on an answered
trial) and 0 otherwise, the kernel's state is up to three traces over the decks:

* expectancies ``Ev`` of the utility ``u(x)``, either by the delta rule
  ``Ev_j <- Ev_j + m_j * a * (u - Ev_j)`` (``a`` the rate after a net gain, ``x >= 0``,
  or after a net loss) or by the decay-reinforcement rule ``Ev_j <- A * Ev_j + m_j * u``
  (Ahn, Busemeyer, Wagenmakers & Stout 2008); ``u(x) = x^alpha`` for ``x >= 0`` and
  ``-lambda * |x|^alpha`` otherwise (prospect utility), or ``u = x`` (ORL);
* the expected win frequency ``Ef`` (ORL; Haines, Vassileva & Ahn 2018): the chosen
  deck learns ``sgn(x)`` at the chosen rate, every unchosen deck learns ``-sgn(x) / C``
  (``C`` = 3, the alternatives) at the other rate (fictive updating);
* perseverance ``P``: VPP (Worthy, Pang & Byrne 2013) ``P_j <- K * P_j + m_j * eps``
  (``eps = epP`` after a net gain, ``epN`` after a net loss); ORL: the chosen deck's
  trace is set to 1, then every trace is divided by ``1 + (3^K - 1)``.

The choice is a softmax over the decks of ``theta * (w_ev * Ev + beta_f * Ef + w_p * P)``
(PVL, VPP: ``theta = 3^cons - 1``; VPP: ``w_ev = w``, ``w_p = 1 - w``; ORL: ``theta = 1``,
``w_ev = 1``). Every update is affine in the state given the trial (``S <- A * S + B``
elementwise), so :func:`igt_coefficients` defines the update and the associative scan
applies to all four models. A variant maps its parameters to the kernel's slots; a slot
it leaves ``None`` is decided statically and costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.igt_spec import N_DECKS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

LOG3 = math.log(3.0)


class IgtKernel(NamedTuple):
    """The kernel's slots; ``None`` leaves a mechanism out (decided statically)."""

    #: delta rule's rate after a net gain (x >= 0) and after a net loss (the same array
    #: for one rate); ``None`` with the decay rule
    rate_gain: Array | None = None
    rate_loss: Array | None = None
    #: decay-reinforcement rule ``Ev <- decay * Ev + m * u`` instead of the delta rule
    decay: Array | None = None
    #: prospect utility's shape and loss aversion; ``None``: ``u = x``
    alpha: Array | None = None
    lam: Array | None = None
    #: the softmax's inverse temperature (``None``: 1) and the expectancy's weight
    theta: Array | None = None
    w_ev: Array | None = None
    #: weight of the expected win frequency (``None``: no frequency trace)
    beta_f: Array | None = None
    #: perseverance: the trace kept per trial (``None``: no trace), its weight, and what
    #: the chosen deck gains after a net gain / loss (``None``: ORL's reset to 1)
    ps_keep: Array | None = None
    ps_weight: Array | None = None
    ps_gain: Array | None = None
    ps_loss: Array | None = None


# expectancies, expected frequencies (None: none), perseverance (None: none), each [decks]
IgtState = tuple[Array, Array | None, Array | None]


def net_outcome(trial: Trial) -> Array:
    """``x = gain - |loss|``: the loss column may hold losses as negative or positive."""
    return trial["gain"] - jnp.abs(trial["loss"])


def utility(kp: IgtKernel, x: Array) -> Array:
    """Prospect utility ``x^alpha`` (x >= 0) or ``-lambda * |x|^alpha``; ``x`` without
    ``alpha``. (JAX's power rule keeps ``d 0^alpha / d alpha`` finite: 0, not NaN.)"""
    if kp.alpha is None:
        return x
    power = jnp.abs(x) ** kp.alpha
    return jnp.where(x >= 0, power, -kp.lam * power)


def igt_init(kp: IgtKernel, n_decks: int) -> IgtState:
    """Every trace starts at 0."""
    zeros = jnp.zeros(n_decks)
    return (
        zeros,
        None if kp.beta_f is None else zeros,
        None if kp.ps_keep is None else zeros,
    )


def _rate(kp: IgtKernel, gained: Array, after_gain: bool = True) -> Array:
    """The delta rule's rate for the trial's outcome (``after_gain=False``: the other
    one, ORL's fictive rate)."""
    if kp.rate_gain is kp.rate_loss:
        return kp.rate_gain
    first, second = (kp.rate_gain, kp.rate_loss) if after_gain else (kp.rate_loss, kp.rate_gain)
    return jnp.where(gained, first, second)


def igt_coefficients(kp: IgtKernel, trial: Trial, n_decks: int) -> tuple[IgtState, IgtState]:
    """``(A, B)`` of the update ``S <- A * S + B`` (elementwise, per trace); a masked
    trial gives ``A = 1, B = 0``."""
    valid = trial[VALID]
    picked = jax.nn.one_hot(trial["choice"], n_decks)
    chosen = picked * valid  # m_j
    others = (1.0 - picked) * valid  # unchosen decks of an answered trial
    ones = jnp.ones(n_decks)
    x = net_outcome(trial)
    gained = x >= 0
    u = utility(kp, x)

    if kp.decay is None:  # delta rule
        rate = _rate(kp, gained) * chosen
        a_ev, b_ev = 1.0 - rate, rate * u
    else:  # decay-reinforcement rule
        a_ev, b_ev = jnp.where(valid, kp.decay, 1.0) * ones, chosen * u

    a_ef = b_ef = None
    if kp.beta_f is not None:
        sign = jnp.sign(x)
        rate = _rate(kp, gained) * chosen
        fictive = _rate(kp, gained, after_gain=False) * others
        a_ef = 1.0 - rate - fictive
        b_ef = rate * sign - fictive * sign / (n_decks - 1)

    a_ps = b_ps = None
    if kp.ps_keep is not None:
        keep = jnp.where(valid, kp.ps_keep, 1.0)
        if kp.ps_gain is None:  # ORL: the chosen trace set to 1, then all decay
            a_ps, b_ps = keep * (1.0 - chosen), kp.ps_keep * chosen
        else:  # VPP: all decay, the chosen one gains epP or epN
            a_ps, b_ps = keep * ones, jnp.where(gained, kp.ps_gain, kp.ps_loss) * chosen
    return (a_ev, a_ef, a_ps), (b_ev, b_ef, b_ps)


def igt_update(state: IgtState, kp: IgtKernel, trial: Trial) -> IgtState:
    """Learn from one trial: the affine map of :func:`igt_coefficients`."""
    a, b = igt_coefficients(kp, trial, state[0].shape[-1])
    return jax.tree.map(lambda a_, b_, s: a_ * s + b_, a, b, state)


def igt_value(state: IgtState, kp: IgtKernel) -> Array:
    """Every deck's value ``w_ev * Ev + beta_f * Ef + w_p * P`` (before ``theta``)."""
    ev, ef, ps = state
    value = ev if kp.w_ev is None else kp.w_ev * ev
    if ef is not None:
        value = value + kp.beta_f * ef
    if ps is not None:
        value = value + kp.ps_weight * ps
    return value


def igt_logits(state: IgtState, kp: IgtKernel, trial: Trial) -> Array:
    """The softmax's logits ``theta * value`` of every deck."""
    value = igt_value(state, kp)
    return value if kp.theta is None else kp.theta * value


def igt_latents(state: IgtState, kp: IgtKernel, trial: Trial) -> dict[str, Array]:
    """Every quantity a variant may report, on the state before the trial: ``ev``,
    ``ev_chosen``, the trial's ``utility`` and ``prediction_error`` (``u - Ev[choice]``),
    ``ef``, ``persev`` and ``value`` (the choice rule's logits)."""
    ev, ef, ps = state
    picked = jnp.arange(ev.shape[-1]) == trial["choice"]
    chosen = jnp.sum(jnp.where(picked, ev, 0.0))
    u = utility(kp, net_outcome(trial))
    out = {
        "ev": ev,
        "ev_chosen": chosen,
        "utility": u,
        "prediction_error": u - chosen,
        "value": igt_logits(state, kp, trial),
    }
    if ef is not None:
        out["ef"] = ef
    if ps is not None:
        out["persev"] = ps
    return out


def _igt_model(spec: ModelSpec, to_kernel: Callable[[Params], IgtKernel]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the shared kernel; the decks are the choice
    column's levels, whatever the dataset's ``n_options``, and a variant reports its own
    latents of all the kernel computes."""
    return implement_kernel(
        spec,
        to_kernel,
        igt_init,
        igt_update,
        igt_logits,
        igt_latents,
        igt_coefficients,
        n_options=spec.column("choice").levels or N_DECKS,
        named_latents=True,
    )


def consistency(cons: Array) -> Array:
    """PVL's inverse temperature ``theta = 3^cons - 1``."""
    return jnp.expm1(LOG3 * cons)


def _pvl_delta(p: Params) -> IgtKernel:
    return IgtKernel(
        rate_gain=p["A"],
        rate_loss=p["A"],
        alpha=p["alpha"],
        lam=p["lambda"],
        theta=consistency(p["cons"]),
    )


def _pvl_decay(p: Params) -> IgtKernel:
    return IgtKernel(decay=p["A"], alpha=p["alpha"], lam=p["lambda"], theta=consistency(p["cons"]))


def _vpp(p: Params) -> IgtKernel:
    return IgtKernel(
        rate_gain=p["A"],
        rate_loss=p["A"],
        alpha=p["alpha"],
        lam=p["lambda"],
        theta=consistency(p["cons"]),
        w_ev=p["w"],
        ps_keep=p["K"],
        ps_weight=1.0 - p["w"],
        ps_gain=p["epP"],
        ps_loss=p["epN"],
    )


def _orl(p: Params) -> IgtKernel:
    # 1 / (1 + (3^K - 1)) = 3^-K: the share of every perseverance trace kept per trial
    return IgtKernel(
        rate_gain=p["Arew"],
        rate_loss=p["Apun"],
        beta_f=p["betaF"],
        ps_keep=jnp.exp(-LOG3 * p["K"]),
        ps_weight=p["betaP"],
    )


IGT_PVL_DELTA = _igt_model(SPECS["igt_pvl_delta"], _pvl_delta)
IGT_PVL_DECAY = _igt_model(SPECS["igt_pvl_decay"], _pvl_decay)
IGT_VPP = _igt_model(SPECS["igt_vpp"], _vpp)
IGT_ORL = _igt_model(SPECS["igt_orl"], _orl)
