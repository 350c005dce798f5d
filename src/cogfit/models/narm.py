"""The N-armed bandit with gains and losses, and the Kalman-filter restless bandit.

Gain/loss bandit (Seymour et al. 2012, J. Neurosci. 32:5833-5842; Aylward et al. 2019,
Nat. Hum. Behav. 3:1116-1123). Each arm ``j`` has a reward value ``Qr[j]`` and a
punishment value ``Qp[j]``, both 0 at the start. After choosing ``c`` and seeing gain
``g >= 0`` and loss ``l`` (its magnitude ``|l|`` is the punishment, whatever its sign):

    Qr[c] += Arew * (R * g - Qr[c])          Qp[c] += Apun * (-P * |l| - Qp[c])
    Qr[j] += fr * (0 - Qr[j])                Qp[j] += fp * (0 - Qp[j])        (j != c)
    p(choice = j) = (1 - xi) * softmax(Qr + Qp)[j] + xi / N

The unchosen arms' values are forgotten towards 0: at the learning rates (``fr = Arew``,
``fp = Apun``: Seymour et al.'s fictive update of an unchosen arm with outcome 0), or at a
decay rate (``fr = fp = d``: Aylward et al.'s decay model, after Niv et al. 2015). One
kernel serves every variant; a variant maps its parameters to the kernel's slots, and a
slot it lacks is decided statically: no sensitivities (``R = P = 1``) or no lapse (``xi =
None``: a plain softmax). The update is affine in the values, so the associative scan
applies.

Kalman filter (Daw et al. 2006, Nature 441:876-879). Every arm's payoff is believed
Gaussian with mean ``m[j]`` and variance ``v[j]``, at first ``mu0`` and ``sigma0**2``.
After choosing ``c`` and seeing payoff ``o``, with the observation sd ``sigma_o = 4``
fixed as in the paper:

    k = v[c] / (v[c] + sigma_o**2)            m[c] += k * (o - m[c])      v[c] *= 1 - k
    m[j] = lambda * m[j] + (1 - lambda) * theta          v[j] = lambda**2 * v[j] + sigmaD**2
    p(choice = j) = softmax(beta * m)[j]

(the second line, the payoffs' drift, applies to every arm). A missed trial leaves the
beliefs as they were: as in every cogfit model, only answered trials move the state.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cogfit.models.base import Array, BehaviouralModel, Params, Trial, implement, implement_kernel
from cogfit.models.catalog import SPECS
from cogfit.models.narm_spec import SIGMA_O
from cogfit.models.spec import ModelSpec
from cogfit.names import VALID

# Arew, Apun (chosen arm's rates), fr, fp (unchosen arms' forgetting rates), R, P
# (sensitivities; None: 1), xi (lapse; None: no lapse)
NarmParams = tuple[Array, Array, Array, Array, Array | None, Array | None, Array | None]
# reward values [K], punishment values [K]
NarmState = tuple[Array, Array]


def narm_init(kp: NarmParams, n_options: int) -> NarmState:
    """Reward and punishment values start at 0."""
    return jnp.zeros(n_options), jnp.zeros(n_options)


def narm_logits(state: NarmState, kp: NarmParams, trial: Trial) -> Array:
    """``log p`` of every arm: the log-softmax of ``Qr + Qp``, mixed with uniform choice
    at weight ``xi`` when the variant has a lapse (already normalised, which the
    likelihood's log-softmax leaves unchanged)."""
    qr, qp = state
    total = qr + qp
    xi = kp[6]
    if xi is None:
        return total
    n = total.shape[-1]
    return jnp.logaddexp(jnp.log1p(-xi) + jax.nn.log_softmax(total), jnp.log(xi / n))


def _targets(kp: NarmParams, trial: Trial) -> tuple[Array, Array]:
    """What the chosen arm's values learn: ``R * gain`` and ``-P * |loss|``."""
    gain, punishment = trial["gain"], -jnp.abs(trial["loss"])
    r_sens, p_sens = kp[4], kp[5]
    if r_sens is not None:
        gain = r_sens * gain
    if p_sens is not None:
        punishment = p_sens * punishment
    return gain, punishment


def narm_latents(state: NarmState, kp: NarmParams, trial: Trial) -> dict[str, Array]:
    """The values before the trial (summed, reward, punishment), the chosen arm's summed
    value, and the chosen arm's reward and punishment prediction errors."""
    qr, qp = state
    picked = jnp.arange(qr.shape[-1]) == trial["choice"]
    qr_c = jnp.sum(jnp.where(picked, qr, 0.0))
    qp_c = jnp.sum(jnp.where(picked, qp, 0.0))
    target_r, target_p = _targets(kp, trial)
    return {
        "value": qr + qp,
        "value_reward": qr,
        "value_punishment": qp,
        "value_chosen": qr_c + qp_c,
        "prediction_error_reward": target_r - qr_c,
        "prediction_error_punishment": target_p - qp_c,
    }


def narm_coefficients(kp: NarmParams, trial: Trial, n_options: int) -> tuple[NarmState, NarmState]:
    """(A, B) of the update ``Q' = A * Q + B``: every arm moves towards its target (the
    chosen one's outcome, 0 for the others) at its rate; nothing moves on a masked trial."""
    a_rew, a_pun, f_rew, f_pun = kp[:4]
    valid = trial[VALID]
    chosen = jnp.arange(n_options) == trial["choice"]
    target_r, target_p = _targets(kp, trial)
    rate_r = jnp.where(valid, jnp.where(chosen, a_rew, f_rew), 0.0)
    rate_p = jnp.where(valid, jnp.where(chosen, a_pun, f_pun), 0.0)
    b_r = jnp.where(chosen, rate_r * target_r, 0.0)
    b_p = jnp.where(chosen, rate_p * target_p, 0.0)
    return (1.0 - rate_r, 1.0 - rate_p), (b_r, b_p)


def narm_update(state: NarmState, kp: NarmParams, trial: Trial) -> NarmState:
    """Learn from one trial (see :func:`narm_coefficients`)."""
    qr, qp = state
    (a_r, a_p), (b_r, b_p) = narm_coefficients(kp, trial, qr.shape[-1])
    return a_r * qr + b_r, a_p * qp + b_p


def _narm_model(spec: ModelSpec, to_kernel: Callable[[Params], NarmParams]) -> BehaviouralModel:
    """Bind a variant's parameter mapping to the gain/loss kernel."""
    return implement_kernel(
        spec, to_kernel, narm_init, narm_update, narm_logits, narm_latents, narm_coefficients
    )


BANDIT_NARM_4PAR = _narm_model(
    SPECS["banditNarm_4par"],
    lambda p: (p["Arew"], p["Apun"], p["Arew"], p["Apun"], p["R"], p["P"], None),
)
BANDIT_NARM_LAPSE = _narm_model(
    SPECS["banditNarm_lapse"],
    lambda p: (p["Arew"], p["Apun"], p["Arew"], p["Apun"], p["R"], p["P"], p["xi"]),
)
BANDIT_NARM_LAPSE_DECAY = _narm_model(
    SPECS["banditNarm_lapse_decay"],
    lambda p: (p["Arew"], p["Apun"], p["d"], p["d"], p["R"], p["P"], p["xi"]),
)
BANDIT_NARM_SINGLEA_LAPSE = _narm_model(
    SPECS["banditNarm_singleA_lapse"],
    lambda p: (p["A"], p["A"], p["A"], p["A"], p["R"], p["P"], p["xi"]),
)
BANDIT_NARM_2PAR_LAPSE = _narm_model(
    SPECS["banditNarm_2par_lapse"],
    lambda p: (p["Arew"], p["Apun"], p["Arew"], p["Apun"], None, None, p["xi"]),
)


# means [K], variances [K] of the believed payoffs
KalmanState = tuple[Array, Array]


def kalman_init(p: Params, n_options: int) -> KalmanState:
    """Every arm's payoff believed ``N(mu0, sigma0**2)``."""
    return jnp.full(n_options, p["mu0"]), jnp.full(n_options, p["sigma0"] ** 2)


def kalman_logits(state: KalmanState, p: Params, trial: Trial) -> Array:
    """The softmax's logits ``beta * m`` (the expected payoffs)."""
    return p["beta"] * state[0]


def _kalman_gain(state: KalmanState, trial: Trial) -> tuple[Array, Array, Array]:
    """The chosen arm's one-hot, its Kalman gain and its prediction error."""
    means, variances = state
    chosen = jnp.arange(means.shape[-1]) == trial["choice"]
    var_c = jnp.sum(jnp.where(chosen, variances, 0.0))
    gain = var_c / (var_c + SIGMA_O**2)
    error = trial["outcome"] - jnp.sum(jnp.where(chosen, means, 0.0))
    return chosen, gain, error


def kalman_latents(state: KalmanState, p: Params, trial: Trial) -> dict[str, Array]:
    """The beliefs before the trial (means and sds), the chosen arm's mean, its prediction
    error and its Kalman gain (the effective learning rate)."""
    means, variances = state
    chosen, gain, error = _kalman_gain(state, trial)
    return {
        "value": means,
        "uncertainty": jnp.sqrt(variances),
        "value_chosen": jnp.sum(jnp.where(chosen, means, 0.0)),
        "prediction_error": error,
        "kalman_gain": gain,
    }


def kalman_update(state: KalmanState, p: Params, trial: Trial) -> KalmanState:
    """Observe the chosen arm's payoff, then let every belief drift one step."""
    means, variances = state
    chosen, gain, error = _kalman_gain(state, trial)
    post_means = means + jnp.where(chosen, gain * error, 0.0)
    post_vars = variances * jnp.where(chosen, 1.0 - gain, 1.0)
    lam = p["lambda"]
    next_means = lam * post_means + (1.0 - lam) * p["theta"]
    next_vars = lam**2 * post_vars + p["sigmaD"] ** 2
    valid = trial[VALID]
    return jnp.where(valid, next_means, means), jnp.where(valid, next_vars, variances)


BANDIT_KALMAN_FILTER = implement(
    SPECS["bandit_kalman_filter"], kalman_init, kalman_update, kalman_logits, kalman_latents
)
