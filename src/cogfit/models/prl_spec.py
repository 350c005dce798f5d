"""The probabilistic reversal learning (prl) family's model specs: plain data, no JAX.

Two options, one of which is rewarded more often (e.g. 70% vs 30%) until the contingency
reverses; each trial's outcome is a reward (+1) or a loss (-1). The models, named as
hBayesDM names them:

* ``prl_fictitious`` (eta, alpha, beta) and ``prl_fictitious_woa`` (eta, beta): the
  fictitious-update model of Gläscher, Hampton & O'Doherty (2009): the unchosen option is
  updated as if it had given the opposite outcome; ``alpha``, the indecision point, shifts
  the sigmoid choice rule;
* ``prl_fictitious_rp`` (eta_pos, eta_neg, alpha, beta) and ``prl_fictitious_rp_woa``
  (eta_pos, eta_neg, beta): the same with separate learning rates after a positive and a
  negative prediction error of the chosen option (den Ouden et al. 2013);
* ``prl_rp`` (Apun, Arew, beta): the reward-punishment model of den Ouden et al. (2013):
  only the chosen option learns, at a rate that depends on the outcome's sign;
* ``prl_ewa`` (phi, rho, beta): experience-weighted attraction (den Ouden et al. 2013,
  after Camerer & Ho 1999).

Every model's values start afresh at each block (hBayesDM's ``*_multipleB`` variants):
a dataset with a ``block`` column restarts them at each new block. Default priors follow
hBayesDM: rates ``Phi(mu + sigma * z)``, ``beta = 10 * Phi(.)``, ``mu ~ Normal(0, 1)``,
``sigma ~ HalfNormal(0.2)``; the indecision point is unbounded (identity) with
``mu ~ Normal(0, 1)`` and a heavier-tailed ``sigma ~ HalfCauchy(1)``.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: hBayesDM's group-sd prior scale for bounded parameters
SD_SCALE = 0.2
#: the inverse temperature's upper bound (hBayesDM: ``beta = 10 * Phi(.)``)
BETA_UPPER = 10.0

ETA = ParamSpec("eta", "probit", sd_scale=SD_SCALE, description="learning rate (0-1)")
ETA_POS = ParamSpec(
    "eta_pos",
    "probit",
    sd_scale=SD_SCALE,
    description="learning rate after a positive prediction error of the chosen option (0-1)",
)
ETA_NEG = ParamSpec(
    "eta_neg",
    "probit",
    sd_scale=SD_SCALE,
    description="learning rate after a negative prediction error of the chosen option (0-1)",
)
ALPHA = ParamSpec(
    "alpha",
    "identity",
    mean_loc=0.0,
    mean_scale=1.0,
    sd_scale=1.0,
    sd_prior="half_cauchy",
    description=(
        "indecision point: the value difference V(option 1) - V(option 2) at which both "
        "options are equally likely (> 0: a bias towards option 2)"
    ),
)
BETA = ParamSpec(
    "beta",
    "scaled_probit",
    upper=BETA_UPPER,
    sd_scale=SD_SCALE,
    description="inverse temperature (0-10)",
)
APUN = ParamSpec(
    "Apun", "probit", sd_scale=SD_SCALE, description="learning rate after a loss (0-1)"
)
AREW = ParamSpec(
    "Arew", "probit", sd_scale=SD_SCALE, description="learning rate after a reward (0-1)"
)
PHI = ParamSpec(
    "phi",
    "probit",
    sd_scale=SD_SCALE,
    description="decay of past payoffs, 1 - learning rate (0-1)",
)
RHO = ParamSpec(
    "rho", "probit", sd_scale=SD_SCALE, description="decay of the experience weight (0-1)"
)

#: the task every prl model is for
TASK = (
    "probabilistic reversal learning: two options, one rewarded more often until the "
    "contingency reverses; outcome +1 (reward) or -1 (loss)"
)

#: a prl trial: the option chosen (of two) and its outcome
COLUMNS = (
    ColumnSpec(
        "choice",
        "option",
        "the option chosen: 1 or 2 with choice_base: 1 (as hBayesDM codes it); empty on a "
        "missed trial",
        response=True,
        levels=2,
    ),
    ColumnSpec(
        "outcome",
        "real",
        "the trial's outcome: 1 = reward, -1 = loss (the fictitious models credit the "
        "unchosen option with its negative)",
    ),
)

#: trial-wise quantities of the delta-rule models (values before the trial; the
#: prediction errors the trial's update learns from)
FICTITIOUS_LATENTS = (
    "value",
    "value_chosen",
    "value_unchosen",
    "prediction_error",
    "prediction_error_unchosen",
)
RP_LATENTS = ("value", "value_chosen", "value_unchosen", "prediction_error")
EWA_LATENTS = (
    "value",
    "value_chosen",
    "value_unchosen",
    "experience_weight",
    "experience_weight_chosen",
)

GLASCHER_2009 = (
    "Gläscher, Hampton & O'Doherty (2009), Cerebral Cortex 19:483-495 (fictitious update, "
    "indecision point)"
)
DEN_OUDEN_2013 = (
    "den Ouden, Daw, Fernandez, Elshout, Rijpkema, Hoogman, Franke & Cools (2013), "
    "Neuron 80:1090-1100"
)


def _spec(
    name: str,
    description: str,
    params: tuple[ParamSpec, ...],
    latents: tuple[str, ...],
    affine: bool,
    reference: str,
    attribute: str,
) -> ModelSpec:
    """A prl model: the shared task, columns and block resets."""
    return ModelSpec(
        name,
        description,
        TASK,
        params,
        latents,
        affine=affine,
        reference=reference,
        implementation=f"cogfit.models.prl:{attribute}",
        columns=COLUMNS,
        block_reset=True,
    )


SPECS: tuple[ModelSpec, ...] = (
    _spec(
        "prl_fictitious",
        "Fictitious update: the unchosen option learns the opposite outcome; sigmoid choice "
        "with an indecision point",
        (ETA, ALPHA, BETA),
        FICTITIOUS_LATENTS,
        True,
        GLASCHER_2009,
        "PRL_FICTITIOUS",
    ),
    _spec(
        "prl_fictitious_woa",
        "Fictitious update without the indecision point (softmax choice)",
        (ETA, BETA),
        FICTITIOUS_LATENTS,
        True,
        GLASCHER_2009,
        "PRL_FICTITIOUS_WOA",
    ),
    _spec(
        "prl_fictitious_rp",
        "Fictitious update with separate learning rates after positive and negative "
        "prediction errors; indecision point",
        (ETA_POS, ETA_NEG, ALPHA, BETA),
        FICTITIOUS_LATENTS,
        False,
        f"{GLASCHER_2009}; {DEN_OUDEN_2013}",
        "PRL_FICTITIOUS_RP",
    ),
    _spec(
        "prl_fictitious_rp_woa",
        "Fictitious update with separate learning rates after positive and negative "
        "prediction errors, without the indecision point",
        (ETA_POS, ETA_NEG, BETA),
        FICTITIOUS_LATENTS,
        False,
        f"{GLASCHER_2009}; {DEN_OUDEN_2013}",
        "PRL_FICTITIOUS_RP_WOA",
    ),
    _spec(
        "prl_rp",
        "Reward-punishment model: the chosen option learns at one rate after a reward and "
        "another after a loss",
        (APUN, AREW, BETA),
        RP_LATENTS,
        True,
        DEN_OUDEN_2013,
        "PRL_RP",
    ),
    _spec(
        "prl_ewa",
        "Experience-weighted attraction: values are experience-weighted averages of past "
        "payoffs with decaying weights",
        (PHI, RHO, BETA),
        EWA_LATENTS,
        False,
        f"{DEN_OUDEN_2013}; Camerer & Ho (1999), Econometrica 67:827-874",
        "PRL_EWA",
    ),
)
