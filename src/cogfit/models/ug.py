"""The ultimatum-game family: a responder accepts or rejects offers, judging each against
a norm (the offer they expect) that they learn from the offers.

One kernel serves both variants. The utility of accepting offer ``x`` given the norm ``f``
(rejecting is worth 0), after Fehr & Schmidt's inequity aversion::

    U = x - alpha * max(f - x, 0) - beta * max(x - f, 0)
    p(accept) = logistic(tau * U)

* ``ug_delta`` (Gu, Wang, Hula, ..., Dayan & Montague 2015, J. Neurosci. 35:467-473):
  envy only (no ``beta``); the norm starts at ``f_1 = 10`` and learns by a delta rule at
  rate ``ep`` *after* the trial, ``f_{t+1} = f_t + ep * (x_t - f_t)``; trial ``t`` is
  judged against ``f_t``. Its update is affine in the norm (:class:`LinearForm`).
* ``ug_bayes`` (Xiang, Lohrenz & Montague 2013, J. Neurosci. 33:1099-1108): an ideal
  Bayesian observer whose belief about the offers is normal with a normal-scaled-inverse-
  chi-squared prior (mean ``mu_0 = 10`` worth ``k_0 = 4`` offers, as hBayesDM sets it).
  Seeing offer ``x_t`` updates the mean and its count::

      k_t = k_{t-1} + 1,   mu_t = mu_{t-1} + (x_t - mu_{t-1}) / k_t

  and trial ``t`` is judged against the norm that includes its own offer, ``f = mu_t``,
  with envy ``alpha`` and guilt ``beta``. (The belief's variance, with hBayesDM's
  ``sigma_0^2 = 4``, ``nu_0 = 10``, does not enter the choice, so it is not carried.)

A variant fills the kernel's slots ``(alpha, beta, tau, ep)``: ``beta`` None means no
guilt term, ``ep`` None the Bayesian observer (decided statically). The state is
``(norm, count)``, ``count`` None for the delta rule; missed trials leave it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

#: the norm before the first offer: an even split of 20 (Gu et al. 2015; hBayesDM)
NORM_0 = 10.0
#: the Bayesian observer's prior count behind its initial mean (hBayesDM's k0)
COUNT_0 = 4.0

# alpha (envy), beta (guilt; None: none), tau, ep (delta-rule rate; None: Bayesian)
KernelParams = tuple[Array, Array | None, Array, Array | None]
# the norm (or posterior mean), the Bayesian observer's count (None for the delta rule)
UgState = tuple[Array, Array | None]


def ug_init(kp: KernelParams, n_options: int) -> UgState:
    """The norm starts at an even split; the Bayesian count at its prior weight
    (``n_options`` is unused: a response accepts or rejects)."""
    count = None if kp[3] is not None else jnp.full((), COUNT_0)
    return jnp.full((), NORM_0), count


def judged_norm(state: UgState, kp: KernelParams, trial: Trial) -> Array:
    """The norm the trial's offer is judged against: the delta rule's current norm, or
    the Bayesian posterior mean that includes this offer."""
    norm, count = state
    if count is None:
        return norm
    return norm + (trial["offer"] - norm) / (count + 1.0)


def ug_utility(state: UgState, kp: KernelParams, trial: Trial) -> Array:
    """``U = x - alpha * max(f - x, 0) - beta * max(x - f, 0)``."""
    alpha, beta, _, _ = kp
    offer = trial["offer"]
    norm = judged_norm(state, kp, trial)
    utility = offer - alpha * jnp.maximum(norm - offer, 0.0)
    if beta is not None:
        utility = utility - beta * jnp.maximum(offer - norm, 0.0)
    return utility


def ug_logits(state: UgState, kp: KernelParams, trial: Trial) -> Array:
    """Logits of (reject, accept): ``[0, tau * U]``."""
    diff = kp[2] * ug_utility(state, kp, trial)
    return jnp.stack([jnp.zeros_like(diff), diff])


def ug_latents(state: UgState, kp: KernelParams, trial: Trial) -> dict[str, Array]:
    """The norm before the trial, the offer's deviation from it, the offer's utility."""
    norm, _ = state
    return {
        "norm": norm,
        "norm_prediction_error": trial["offer"] - norm,
        "utility": ug_utility(state, kp, trial),
    }


def ug_update(state: UgState, kp: KernelParams, trial: Trial) -> UgState:
    """Learn the norm from an answered trial's offer."""
    norm, count = state
    valid = trial[VALID]
    error = trial["offer"] - norm
    if count is None:
        return norm + jnp.where(valid, kp[3] * error, 0.0), None
    new_count = count + 1.0
    new_norm = norm + error / new_count
    return jnp.where(valid, new_norm, norm), jnp.where(valid, new_count, count)


def ug_delta_coefficients(kp: KernelParams, trial: Trial, n_options: int) -> tuple:
    """(A, B) of the delta rule's affine update: ``f' = (1 - ep*v) * f + ep*v*x``."""
    rate = jnp.where(trial[VALID], kp[3], 0.0)
    return (1.0 - rate, None), (rate * trial["offer"], None)


def _ug_model(spec: ModelSpec, to_kernel: Callable[[Params], KernelParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the kernel; an affine spec (the delta rule)
    gets its :class:`LinearForm`."""
    return implement_kernel(
        spec, to_kernel, ug_init, ug_update, ug_logits, ug_latents, ug_delta_coefficients
    )


UG_DELTA = _ug_model(SPECS["ug_delta"], lambda p: (p["alpha"], None, p["tau"], p["ep"]))
UG_BAYES = _ug_model(SPECS["ug_bayes"], lambda p: (p["alpha"], p["beta"], p["tau"], None))
