"""The two-step task's hybrid model-based/model-free models (plain data, no JAX).

Daw, Gershman, Seymour, Dayan & Dolan (2011): on each trial a first-stage choice between
two options leads to one of two second-stage states (state A commonly, with probability
0.7, from option 0; state B commonly from option 1), where a second choice between two
options is rewarded with a slowly drifting probability. Model-free (SARSA(lambda)) values
of both stages and model-based first-stage values (planned through the fixed transition
probabilities) are mixed with the weight ``w``; ``pi`` adds a bonus to repeating the
previous first-stage choice. The three models are hBayesDM's: ``ts_par7`` is the original
(stage-specific learning rates and inverse temperatures, eligibility trace ``lambda``),
``ts_par6`` fixes ``lambda = 1`` and ``ts_par4`` also shares one learning rate and one
inverse temperature between the stages. The equations are in :mod:`cogfit.models.ts`.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the trial-wise quantities of the family's regressors, on the state before each trial:
#: first-stage model-free, model-based and hybrid values [2], second-stage values [4]
#: (state-major: options 0, 1 of state A, then 2, 3 of state B), and the two prediction
#: errors of the trial (0 where the trial teaches nothing: no second choice or reward)
TS_LATENTS = (
    "value_mf",
    "value_mb",
    "value_net",
    "value_stage2",
    "prediction_error_1",
    "prediction_error_2",
)

# hBayesDM's bounds: rates and weights in (0, 1), inverse temperatures in (0, inf),
# perseverance in (0, 5); mu ~ Normal(0, 1), sigma ~ HalfNormal(0.2) on the raw scale
SD = 0.2
A = ParamSpec("a", "probit", sd_scale=SD, description="learning rate of both stages (0-1)")
BETA = ParamSpec(
    "beta", "exp", sd_scale=SD, description="inverse temperature of both stages (0-inf)"
)
A1 = ParamSpec("a1", "probit", sd_scale=SD, description="first-stage learning rate (0-1)")
BETA1 = ParamSpec(
    "beta1", "exp", sd_scale=SD, description="first-stage inverse temperature (0-inf)"
)
A2 = ParamSpec("a2", "probit", sd_scale=SD, description="second-stage learning rate (0-1)")
BETA2 = ParamSpec(
    "beta2", "exp", sd_scale=SD, description="second-stage inverse temperature (0-inf)"
)
PI = ParamSpec(
    "pi",
    "scaled_probit",
    upper=5.0,
    sd_scale=SD,
    description="perseverance: logit bonus for repeating the last first-stage choice (0-5)",
)
W = ParamSpec("w", "probit", sd_scale=SD, description="model-based weight (0-1)")
LAMBDA = ParamSpec(
    "lambda", "probit", sd_scale=SD, description="eligibility trace of the first stage (0-1)"
)

#: the task of the family
TWO_STEP = (
    "two-step task: a first choice of two options leads (0.7 common, 0.3 rare) to one of "
    "two states, each with two options rewarded at drifting probabilities"
)

#: a two-step trial: both choices and the reward
TS_COLUMNS = (
    ColumnSpec(
        "choice1",
        "option",
        "first-stage choice (hBayesDM's level1_choice, with choice_base: 1: 1 = stimulus "
        "1, 2 = stimulus 2)",
        response=True,
        levels=2,
    ),
    ColumnSpec(
        "choice2",
        "option",
        "second-stage choice, state-major (hBayesDM's level2_choice: 1, 2 = the two options "
        "of state A, reached commonly from first-stage option 1; 3, 4 = those of state B; "
        "raw files numbered 2..5 set column_bases: {choice2: 2}); empty when the second "
        "choice was missed",
        response=True,
        missing=True,
        levels=4,
    ),
    ColumnSpec(
        "reward",
        "real",
        "reward after the second choice (1 = rewarded, 0 = not); empty when there is no "
        "second choice",
        missing=True,
    ),
)

DAW_2011 = (
    "Daw, Gershman, Seymour, Dayan & Dolan (2011), Model-based influences on humans' "
    "choices and striatal prediction errors, Neuron 69:1204-1215"
)
WUNDERLICH_2012 = (
    "Wunderlich, Smittenaar & Dolan (2012), Dopamine enhances model-based over model-free "
    "choice behavior, Neuron 75:418-424"
)

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "ts_par4",
        "hybrid model-based/model-free learner, one learning rate and one inverse "
        "temperature for both stages, eligibility trace 1",
        TWO_STEP,
        (A, BETA, PI, W),
        TS_LATENTS,
        affine=True,
        reference=f"{DAW_2011}; {WUNDERLICH_2012}",
        implementation="cogfit.models.ts:TS_PAR4",
        columns=TS_COLUMNS,
    ),
    ModelSpec(
        "ts_par6",
        "hybrid model-based/model-free learner with stage-specific learning rates and "
        "inverse temperatures, eligibility trace 1",
        TWO_STEP,
        (A1, BETA1, A2, BETA2, PI, W),
        TS_LATENTS,
        affine=True,
        reference=DAW_2011,
        implementation="cogfit.models.ts:TS_PAR6",
        columns=TS_COLUMNS,
    ),
    ModelSpec(
        "ts_par7",
        "hybrid model-based/model-free learner with stage-specific learning rates and "
        "inverse temperatures and an eligibility trace (the original model)",
        TWO_STEP,
        (A1, BETA1, A2, BETA2, PI, W, LAMBDA),
        TS_LATENTS,
        affine=False,
        reference=DAW_2011,
        implementation="cogfit.models.ts:TS_PAR7",
        columns=TS_COLUMNS,
    ),
)
