"""The risk-aversion family (Sokol-Hessner, Hsu, Curley, Delgado, Camerer & Phelps 2009,
PNAS 106:5035-5040): a 50/50 gamble against a sure amount, valued by prospect theory.

One kernel serves every variant. The value of an amount ``x`` is

    v(x) = x^rho                 for x >= 0
    v(x) = -lambda * (-x)^rho    for x < 0

and, for a gamble that wins ``gain`` or loses ``|loss|`` with probability 0.5 each and a
sure amount ``cert``::

    U_gamble = 0.5 * v(gain) + 0.5 * v(-|loss|) = 0.5 * gain^rho - 0.5 * lambda * |loss|^rho
    U_cert   = v(cert)
    p(gamble) = logistic(tau * (U_gamble - U_cert))

A variant fills the kernel's slots ``(rho, lambda, tau)``: ``ra_noLA`` leaves lambda out
(``lambda = 1``), ``ra_noRA`` leaves rho out (``rho = 1``); an unused slot is None, decided
statically. No state is carried between trials (the specs are ``stateless``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.dd import power
from cogfit.models.spec import ModelSpec

# rho (None: 1), lambda (None: 1), tau
KernelParams = tuple[Array | None, Array | None, Array]


def prospect_value(x: Array, kp: KernelParams) -> Array:
    """``v(x)``: ``|x|^rho`` for a gain, ``-lambda * |x|^rho`` for a loss."""
    rho, lam, _ = kp
    magnitude = jnp.abs(x)
    curved = magnitude if rho is None else power(magnitude, rho)
    if lam is None:
        return jnp.where(x >= 0, curved, -curved)
    return jnp.where(x >= 0, curved, -lam * curved)


def ra_utilities(kp: KernelParams, trial: Trial) -> tuple[Array, Array]:
    """``(U_gamble, U_cert)`` of the trial's two options."""
    loss = -jnp.abs(trial["loss"])  # a loss given as 5 or as -5 is the same loss
    gamble = 0.5 * prospect_value(trial["gain"], kp) + 0.5 * prospect_value(loss, kp)
    return gamble, prospect_value(trial["cert"], kp)


def ra_logits(kp: KernelParams, trial: Trial) -> Array:
    """Logits of (sure amount, gamble): ``[0, tau * (U_gamble - U_cert)]``."""
    gamble, cert = ra_utilities(kp, trial)
    diff = kp[2] * (gamble - cert)
    return jnp.stack([jnp.zeros_like(diff), diff])


def ra_latents(kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """Both options' utilities."""
    gamble, cert = ra_utilities(kp, trial)
    return {"utility_gamble": gamble, "utility_certain": cert}


def _ra_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the kernel; no state (one-shot choices)."""
    return implement_kernel(spec, to_kernel, None, None, ra_logits, ra_latents)


RA_PROSPECT = _ra_model(SPECS["ra_prospect"], lambda p: (p["rho"], p["lambda"], p["tau"]))
RA_NOLA = _ra_model(SPECS["ra_noLA"], lambda p: (p["rho"], None, p["tau"]))
RA_NORA = _ra_model(SPECS["ra_noRA"], lambda p: (None, p["lambda"], p["tau"]))
