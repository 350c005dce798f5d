"""The N-armed bandit family with separate gains and losses, and the Kalman-filter bandit:
their parameters, trial columns and model specs (plain data, no JAX).

``banditNarm_*`` (Seymour et al. 2012; Aylward et al. 2019): every arm has a reward value
and a punishment value, learned from the trial's gain and loss with their own learning
rates and sensitivities; the choice is a softmax of their sum, optionally mixed with a
uniform lapse. ``bandit_kalman_filter`` (Daw et al. 2006): a Kalman filter tracks the mean
and uncertainty of every arm's payoff in a restless bandit whose payoffs drift.
The equations are in :mod:`cogfit.models.narm`; the names follow hBayesDM's.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: hBayesDM's hierarchical defaults: group mean ~ Normal(0, 1) and sd ~ HalfNormal(0.2) on
#: the probit scale, the bounded parameters through Phi (times their upper bound)
_SD = 0.2


def _rate(name: str, description: str) -> ParamSpec:
    """A parameter in (0, 1) with hBayesDM's default prior."""
    return ParamSpec(name, "probit", sd_scale=_SD, description=description)


def _bounded(name: str, upper: float, description: str) -> ParamSpec:
    """A parameter in (0, upper) with hBayesDM's default prior."""
    return ParamSpec(name, "scaled_probit", upper=upper, sd_scale=_SD, description=description)


AREW = _rate("Arew", "reward learning rate (0-1)")
APUN = _rate("Apun", "punishment learning rate (0-1)")
A = _rate("A", "learning rate for rewards and punishments (0-1)")
R = _bounded("R", 30.0, "reward sensitivity (0-30)")
P = _bounded("P", 30.0, "punishment sensitivity (0-30)")
XI = _rate("xi", "lapse: weight of uniformly random choice (0-1)")
D = _rate("d", "decay rate of the unchosen arms' values (0-1)")

LAMBDA = _rate("lambda", "decay factor of the payoff means (0-1)")
THETA = _bounded("theta", 100.0, "decay centre of the payoff means (0-100)")
BETA = _rate("beta", "inverse softmax temperature (0-1)")
MU0 = _bounded("mu0", 100.0, "initial expected payoff of every arm (0-100)")
SIGMA0 = _bounded("sigma0", 15.0, "initial sd of the expected payoff of every arm (0-15)")
SIGMAD = _bounded("sigmaD", 15.0, "sd of the diffusion of the payoff means (0-15)")

#: the Kalman filter's observation noise: the payoffs' sd in the task of Daw et al. (2006),
#: fixed as in the paper (and in hBayesDM), not fitted
SIGMA_O = 4.0

#: a gain/loss bandit trial: the arm chosen, the gain and the loss it brought
NARM_COLUMNS = (
    ColumnSpec(
        "choice",
        "option",
        "the arm chosen, of the dataset's n_options arms (1..N with choice_base: 1)",
        response=True,
    ),
    ColumnSpec("gain", "real", "the reward won on the trial, >= 0 (e.g. 0 or 1; 0 = none)"),
    ColumnSpec(
        "loss",
        "real",
        "the punishment on the trial (e.g. 0 or -1): its magnitude is used, so a loss "
        "coded negative (-1) or positive (1) means the same; 0 = none",
    ),
)

#: a restless-bandit trial: the arm chosen and its payoff
KALMAN_COLUMNS = (
    ColumnSpec(
        "choice",
        "option",
        "the arm chosen, of the dataset's n_options arms (1..N with choice_base: 1)",
        response=True,
    ),
    ColumnSpec("outcome", "real", "the payoff of the chosen arm (points, e.g. 1-100)"),
)

#: trial-wise quantities of the gain/loss models, on the values before the trial
NARM_LATENTS = (
    "value",
    "value_reward",
    "value_punishment",
    "value_chosen",
    "prediction_error_reward",
    "prediction_error_punishment",
)
#: trial-wise quantities of the Kalman filter, on its beliefs before the trial
KALMAN_LATENTS = ("value", "uncertainty", "value_chosen", "prediction_error", "kalman_gain")

NARM_TASK = "N-armed bandit: one arm chosen per trial, which brings a gain and a loss"
KALMAN_TASK = "restless N-armed bandit: one arm chosen per trial, its drifting payoff seen"

SEYMOUR_2012 = (
    "Seymour, Daw, Roiser, Dayan & Dolan (2012), J. Neurosci. 32:5833-5842"
    " (the four-parameter model without perseveration)"
)
AYLWARD_2019 = (
    "Aylward, Valton, Ahn, Bond, Dayan, Roiser & Robinson (2019), Nat. Hum. Behav. "
    "3:1116-1123; after Seymour, Daw, Roiser, Dayan & Dolan (2012), J. Neurosci. 32:5833-5842"
)
DAW_2006 = "Daw, O'Doherty, Dayan, Seymour & Dolan (2006), Nature 441:876-879"

_MODULE = "cogfit.models.narm"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "banditNarm_4par",
        "N-armed bandit: separate reward and punishment values (rates Arew, Apun; "
        "sensitivities R, P), unchosen values forgotten, softmax of their sum",
        NARM_TASK,
        (AREW, APUN, R, P),
        NARM_LATENTS,
        affine=True,
        reference=SEYMOUR_2012,
        implementation=f"{_MODULE}:BANDIT_NARM_4PAR",
        columns=NARM_COLUMNS,
    ),
    ModelSpec(
        "banditNarm_lapse",
        "banditNarm_4par with a lapse xi mixing the softmax with uniform choice",
        NARM_TASK,
        (AREW, APUN, R, P, XI),
        NARM_LATENTS,
        affine=True,
        reference=(
            "Seymour, Daw, Roiser, Dayan & Dolan (2012), J. Neurosci. 32:5833-5842; lapse "
            "as in Aylward, Valton, Ahn, Bond, Dayan, Roiser & Robinson (2019), Nat. Hum. "
            "Behav. 3:1116-1123"
        ),
        implementation=f"{_MODULE}:BANDIT_NARM_LAPSE",
        columns=NARM_COLUMNS,
    ),
    ModelSpec(
        "banditNarm_lapse_decay",
        "banditNarm_lapse whose unchosen values decay at rate d (instead of the learning rates)",
        NARM_TASK,
        (AREW, APUN, R, P, XI, D),
        NARM_LATENTS,
        affine=True,
        reference=AYLWARD_2019,
        implementation=f"{_MODULE}:BANDIT_NARM_LAPSE_DECAY",
        columns=NARM_COLUMNS,
    ),
    ModelSpec(
        "banditNarm_singleA_lapse",
        "banditNarm_lapse with one learning rate A for rewards and punishments",
        NARM_TASK,
        (A, R, P, XI),
        NARM_LATENTS,
        affine=True,
        reference=AYLWARD_2019,
        implementation=f"{_MODULE}:BANDIT_NARM_SINGLEA_LAPSE",
        columns=NARM_COLUMNS,
    ),
    ModelSpec(
        "banditNarm_2par_lapse",
        "banditNarm_lapse without sensitivities: values learn the raw gains and losses",
        NARM_TASK,
        (AREW, APUN, XI),
        NARM_LATENTS,
        affine=True,
        reference=AYLWARD_2019,
        implementation=f"{_MODULE}:BANDIT_NARM_2PAR_LAPSE",
        columns=NARM_COLUMNS,
    ),
    ModelSpec(
        "bandit_kalman_filter",
        "restless bandit: a Kalman filter tracks each arm's drifting payoff (decay lambda to "
        "theta, diffusion sigmaD), softmax (beta) of the expected payoffs",
        KALMAN_TASK,
        (LAMBDA, THETA, BETA, MU0, SIGMA0, SIGMAD),
        KALMAN_LATENTS,
        affine=False,
        reference=DAW_2006,
        implementation=f"{_MODULE}:BANDIT_KALMAN_FILTER",
        columns=KALMAN_COLUMNS,
    ),
)
