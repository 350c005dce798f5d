"""The probabilistic reversal learning (prl) family: two options, outcomes +1 / -1.

Two kernels. The delta-rule kernel serves the fictitious-update models (Gläscher, Hampton
& O'Doherty 2009) and the reward-punishment model (den Ouden et al. 2013); a variant says
which of its parameters feed which slot and, statically, whether the unchosen option
learns too and what picks the learning rate. The experience-weighted attraction kernel
(den Ouden et al. 2013) carries an experience weight per option as well. The metadata
(priors, columns, references) are in :mod:`cogfit.models.prl_spec`.

Both kernels hold two options whatever the dataset's ``n_options`` (the choice column
has two levels). Values start at 0 and restart at each block (the likelihood resets the
state there: the specs say ``block_reset``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax.numpy as jnp

from cogfit.errors import ConfigError
from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement_kernel
from cogfit.models.prl_spec import SPECS as PRL_SPECS
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

#: the options of every prl task
N_OPTIONS = 2
SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in PRL_SPECS}

# rate_pos, rate_neg (None: one rate), alpha (None: no indecision point), beta
DeltaParams = tuple[Array, Array | None, Array | None, Array]
# phi, rho, beta
EwaParams = tuple[Array, Array, Array]
# values [2], experience weights [2]
EwaState = tuple[Array, Array]


@dataclass(frozen=True)
class DeltaVariant:
    """What a delta-rule variant does, decided statically: ``fictitious``, the unchosen
    option learns the opposite outcome; ``rate_by``, what picks between two learning
    rates: the chosen option's ``prediction_error`` (>= 0: the positive rate) or the
    ``outcome`` (> 0, a reward: the positive rate)."""

    fictitious: bool
    rate_by: str = "prediction_error"


def _picked(choice: Array, dtype: jnp.dtype) -> Array:
    """The one-hot [2] of ``choice``."""
    return (jnp.arange(N_OPTIONS) == choice).astype(dtype)


def delta_init(kp: DeltaParams, n_options: int) -> Array:
    """Both values start at 0."""
    return jnp.zeros(N_OPTIONS)


def delta_logits(values: Array, kp: DeltaParams, trial: Trial) -> Array:
    """The choice rule's logits.

    Without an indecision point, a softmax ``beta * V``. With one (Gläscher et al. 2009),
    ``P(option 1) = 1 / (1 + exp(-beta * (V1 - V2 - alpha)))``: logits
    ``beta * (V1 - alpha, V2)`` (options numbered from 1 as in the paper).
    """
    _, _, alpha, beta = kp
    if alpha is None:
        return beta * values
    return beta * (values - jnp.stack([alpha, jnp.zeros_like(alpha)]))


def _rate(kp: DeltaParams, variant: DeltaVariant, pe_chosen: Array, outcome: Array) -> Array:
    """The trial's learning rate: one rate, or the positive/negative one."""
    rate_pos, rate_neg, _, _ = kp
    if rate_neg is None:
        return rate_pos
    positive = pe_chosen >= 0 if variant.rate_by == "prediction_error" else outcome > 0
    return jnp.where(positive, rate_pos, rate_neg)


def delta_update(values: Array, kp: DeltaParams, trial: Trial, variant: DeltaVariant) -> Array:
    """Learn from one trial (Gläscher et al. 2009; den Ouden et al. 2013).

    ``delta_c = r - V_c`` and ``V_c += eta * delta_c`` for the chosen option; a fictitious
    variant also updates the unchosen one with the opposite outcome, ``delta_u = -r - V_u``,
    ``V_u += eta * delta_u``, at the same rate. ``eta`` is the one rate, or ``eta_pos`` /
    ``eta_neg`` by the sign of ``delta_c`` (fictitious_rp), or ``Arew`` / ``Apun`` by the
    outcome (rp: reward ``r > 0`` or loss).
    """
    outcome = trial["outcome"]
    chosen = _picked(trial["choice"], values.dtype)
    pe_chosen = outcome - jnp.sum(values * chosen)
    delta = chosen * pe_chosen
    if variant.fictitious:
        unchosen = 1.0 - chosen
        delta = delta + unchosen * (-outcome - jnp.sum(values * unchosen))
    rate = _rate(kp, variant, pe_chosen, outcome)
    return values + jnp.where(trial[VALID], rate * delta, 0.0)


def delta_coefficients(
    kp: DeltaParams, trial: Trial, n_options: int, variant: DeltaVariant
) -> tuple[Array, Array]:
    """(A, B) of the update ``V' = A * V + B``: ``A = 1 - eta * m``, ``B = eta * m * target``
    with ``m`` the options that learn on a valid trial and ``target`` = ``r`` for the
    chosen option and ``-r`` for the unchosen one (``n_options`` is unused: two options).
    Affine only when the rate does not depend on the values: one rate, or a rate picked by
    the outcome."""
    outcome = trial["outcome"]
    chosen = _picked(trial["choice"], jnp.result_type(outcome, float))
    learns = jnp.ones_like(chosen) if variant.fictitious else chosen
    learns = learns * trial[VALID]
    target = chosen * outcome - (1.0 - chosen) * outcome
    rate = _rate(kp, variant, jnp.zeros(()), outcome)  # pe unused: one rate or by outcome
    return 1.0 - rate * learns, rate * learns * target


def delta_latents(
    values: Array, kp: DeltaParams, trial: Trial, variant: DeltaVariant
) -> dict[str, Array]:
    """Both values before the trial, the chosen and unchosen ones, and the prediction
    errors the update learns from (the unchosen one's only for a fictitious variant)."""
    outcome = trial["outcome"]
    chosen = _picked(trial["choice"], values.dtype)
    v_chosen = jnp.sum(values * chosen)
    v_unchosen = jnp.sum(values * (1.0 - chosen))
    out = {
        "value": values,
        "value_chosen": v_chosen,
        "value_unchosen": v_unchosen,
        "prediction_error": outcome - v_chosen,
    }
    if variant.fictitious:
        out["prediction_error_unchosen"] = -outcome - v_unchosen
    return out


def _delta_model(
    spec: ModelSpec, to_kernel: Callable[[Params], DeltaParams], variant: DeltaVariant
) -> BehaviouralModel:
    """Bind a variant's parameter mapping and static choices to the delta-rule kernel."""
    two_rates = to_kernel({name: jnp.zeros(()) for name in spec.param_names})[1] is not None
    if spec.affine and two_rates and variant.rate_by == "prediction_error":
        raise ConfigError(
            f"model {spec.name!r}: a rate picked by the prediction error is not affine"
        )
    return implement_kernel(
        spec,
        to_kernel,
        delta_init,
        partial(delta_update, variant=variant),
        delta_logits,
        partial(delta_latents, variant=variant),
        partial(delta_coefficients, variant=variant),
    )


def ewa_init(kp: EwaParams, n_options: int) -> EwaState:
    """Values and experience weights start at 0."""
    return jnp.zeros(N_OPTIONS), jnp.zeros(N_OPTIONS)


def ewa_logits(state: EwaState, kp: EwaParams, trial: Trial) -> Array:
    """Softmax ``beta * V``."""
    return kp[2] * state[0]


def ewa_update(state: EwaState, kp: EwaParams, trial: Trial) -> EwaState:
    """Experience-weighted attraction (den Ouden et al. 2013, after Camerer & Ho 1999),
    for the chosen option only: ``N_c' = rho * N_c + 1`` and
    ``V_c' = (phi * N_c * V_c + r) / N_c'``; the unchosen option keeps both."""
    values, weights = state
    phi, rho, _ = kp
    learns = (jnp.arange(N_OPTIONS) == trial["choice"]) & trial[VALID]
    new_weights = rho * weights + 1.0
    new_values = (phi * weights * values + trial["outcome"]) / new_weights
    return jnp.where(learns, new_values, values), jnp.where(learns, new_weights, weights)


def ewa_latents(state: EwaState, kp: EwaParams, trial: Trial) -> dict[str, Array]:
    """Values and experience weights before the trial, the chosen option's and the
    unchosen one's value."""
    values, weights = state
    chosen = _picked(trial["choice"], values.dtype)
    return {
        "value": values,
        "value_chosen": jnp.sum(values * chosen),
        "value_unchosen": jnp.sum(values * (1.0 - chosen)),
        "experience_weight": weights,
        "experience_weight_chosen": jnp.sum(weights * chosen),
    }


def _ewa_model(spec: ModelSpec) -> BehaviouralModel:
    """The EWA model from its parameters (phi, rho, beta)."""

    def to_kernel(p: Params) -> EwaParams:
        return p["phi"], p["rho"], p["beta"]

    return implement_kernel(spec, to_kernel, ewa_init, ewa_update, ewa_logits, ewa_latents)


FICTITIOUS = DeltaVariant(fictitious=True)
PRL_FICTITIOUS = _delta_model(
    SPECS["prl_fictitious"], lambda p: (p["eta"], None, p["alpha"], p["beta"]), FICTITIOUS
)
PRL_FICTITIOUS_WOA = _delta_model(
    SPECS["prl_fictitious_woa"], lambda p: (p["eta"], None, None, p["beta"]), FICTITIOUS
)
PRL_FICTITIOUS_RP = _delta_model(
    SPECS["prl_fictitious_rp"],
    lambda p: (p["eta_pos"], p["eta_neg"], p["alpha"], p["beta"]),
    FICTITIOUS,
)
PRL_FICTITIOUS_RP_WOA = _delta_model(
    SPECS["prl_fictitious_rp_woa"],
    lambda p: (p["eta_pos"], p["eta_neg"], None, p["beta"]),
    FICTITIOUS,
)
PRL_RP = _delta_model(
    SPECS["prl_rp"],
    lambda p: (p["Arew"], p["Apun"], None, p["beta"]),
    DeltaVariant(fictitious=False, rate_by="outcome"),
)
PRL_EWA = _ewa_model(SPECS["prl_ewa"])

__all__ = [
    "PRL_EWA",
    "PRL_FICTITIOUS",
    "PRL_FICTITIOUS_RP",
    "PRL_FICTITIOUS_RP_WOA",
    "PRL_FICTITIOUS_WOA",
    "PRL_RP",
]
