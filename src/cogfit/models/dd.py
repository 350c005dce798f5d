"""The delay-discounting family: one-shot choices between a smaller-sooner and a
larger-later amount, with a logistic choice rule on the discounted values.

One kernel serves every variant. Each amount is discounted by its delay ``d``,
``V = amount * D(d)``, and ``p(later) = logistic(beta * (V_later - V_sooner))``, with

* exponential discounting (Samuelson 1937): ``D(d) = exp(-r * d)``;
* hyperbolic discounting (Mazur 1987): ``D(d) = 1 / (1 + k * d)``;
* constant sensitivity (Ebert & Prelec 2007, Management Science 53:1423-1438):
  ``D(d) = exp(-(r * d)^s)``, which is exponential at ``s = 1``.

A variant says which of its parameters fill the kernel's slots ``(r, s, k, beta)``; an
unused slot is None, decided statically, so its arithmetic never reaches the compiled
program. No state is carried between trials (the specs are ``stateless``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec

# r (exponential rate), s (time sensitivity), k (hyperbolic rate), beta; None: unused
KernelParams = tuple[Array | None, Array | None, Array | None, Array]


#: the largest log of a power: ``e^80`` (about 5.5e34) keeps ``exp(-x^s)`` exactly 0 where
#: it would be, and its derivatives finite where ``x^s`` would overflow float32
LOG_POWER_CAP = 80.0


def power(x: Array, exponent: Array) -> Array:
    """``x ** exponent`` for ``x >= 0`` and a positive exponent, 0 at ``x = 0``, with
    finite derivatives there (a plain power's derivative in the exponent is ``log 0``);
    capped at ``e^LOG_POWER_CAP``."""
    positive = x > 0
    safe = jnp.where(positive, x, 1.0)
    log_power = jnp.minimum(exponent * jnp.log(safe), LOG_POWER_CAP)
    return jnp.where(positive, jnp.exp(log_power), 0.0)


def discount(delay: Array, kp: KernelParams) -> Array:
    """The discount factor ``D(delay)`` of the variant's discount function."""
    r, s, k, _ = kp
    if k is not None:
        return 1.0 / (1.0 + k * delay)
    if s is None:
        return jnp.exp(-r * delay)
    return jnp.exp(-power(r * delay, s))


def dd_values(kp: KernelParams, trial: Trial) -> tuple[Array, Array]:
    """The discounted values ``(V_later, V_sooner)`` of the trial's two options."""
    later = trial["amount_later"] * discount(trial["delay_later"], kp)
    sooner = trial["amount_sooner"] * discount(trial["delay_sooner"], kp)
    return later, sooner


def dd_logits(kp: KernelParams, trial: Trial) -> Array:
    """Logits of (sooner, later): ``[0, beta * (V_later - V_sooner)]``."""
    later, sooner = dd_values(kp, trial)
    diff = kp[3] * (later - sooner)
    return jnp.stack([jnp.zeros_like(diff), diff])


def dd_latents(kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """Both options' discounted values."""
    later, sooner = dd_values(kp, trial)
    return {"value_later": later, "value_sooner": sooner}


def _dd_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the kernel; no state (one-shot choices)."""
    return implement_kernel(spec, to_kernel, None, None, dd_logits, dd_latents)


DD_EXP = _dd_model(SPECS["dd_exp"], lambda p: (p["r"], None, None, p["beta"]))
DD_HYPERBOLIC = _dd_model(SPECS["dd_hyperbolic"], lambda p: (None, None, p["k"], p["beta"]))
DD_CS = _dd_model(SPECS["dd_cs"], lambda p: (p["r"], p["s"], None, p["beta"]))
