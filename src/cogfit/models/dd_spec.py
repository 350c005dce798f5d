"""The delay-discounting (dd) family's model specs (plain data, no JAX).

Each trial offers a smaller amount sooner and a larger amount later; the participant picks
one. The models discount each amount by its delay, ``V = amount * D(delay)``, and choose
the later option with probability ``logistic(beta * (V_later - V_sooner))``. The variants
differ only in the discount function ``D``: exponential (Samuelson 1937), hyperbolic
(Mazur 1987) and constant sensitivity (Ebert & Prelec 2007). One-shot choices: no state
is carried between trials (``stateless``).

Bounds and default priors follow hBayesDM's dd models: every parameter is ``Phi`` of a
normal (``r``, ``k`` in (0, 1); ``s`` in (0, 10) and ``beta`` in (0, 5) scaled), with
group means ``~ Normal(0, 1)`` and group sds ``~ HalfNormal(0.2)`` on the probit scale.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the hBayesDM convention for a parameter's group sd on the probit scale
SD_SCALE = 0.2

R = ParamSpec(
    "r",
    "probit",
    sd_scale=SD_SCALE,
    description="exponential discounting rate per unit of delay (0-1)",
)
K = ParamSpec(
    "k",
    "probit",
    sd_scale=SD_SCALE,
    description="hyperbolic discounting rate per unit of delay (0-1)",
)
S = ParamSpec(
    "s",
    "scaled_probit",
    upper=10.0,
    sd_scale=SD_SCALE,
    description="time sensitivity of the constant-sensitivity discount (0-10)",
)
BETA = ParamSpec(
    "beta",
    "scaled_probit",
    upper=5.0,
    sd_scale=SD_SCALE,
    description="inverse temperature on the difference of discounted values (0-5)",
)

#: the trial-wise quantities of the family's regressors: both options' discounted values
DD_LATENTS = ("value_later", "value_sooner")

#: the task of the dd family
DD_TASK = "delay discounting: a choice between a smaller-sooner and a larger-later amount"

#: a delay-discounting trial: the two options and the choice
DD_COLUMNS = (
    ColumnSpec(
        "delay_later",
        "real",
        "delay of the later option, in the task's unit (e.g. days: 1, 7, 28)",
    ),
    ColumnSpec("amount_later", "real", "amount of the later option (e.g. 10.5, 30.9)"),
    ColumnSpec(
        "delay_sooner",
        "real",
        "delay of the sooner option, in the same unit (often 0: now)",
    ),
    ColumnSpec("amount_sooner", "real", "amount of the sooner option (e.g. 10)"),
    ColumnSpec(
        "choice",
        "binary",
        "the option chosen: 1 = the later (larger) amount, 0 = the sooner (smaller) one",
        response=True,
    ),
)

SAMUELSON = "Samuelson (1937), Review of Economic Studies 4:155-161"
MAZUR = (
    "Mazur (1987), in Commons, Mazur, Nevin & Rachlin (eds.), Quantitative Analyses of "
    "Behavior 5, Erlbaum, 55-73"
)
EBERT_PRELEC = "Ebert & Prelec (2007), Management Science 53:1423-1438"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "dd_exp",
        "Delay discounting, exponential: V = amount * exp(-r * delay)",
        DD_TASK,
        (R, BETA),
        DD_LATENTS,
        affine=False,
        reference=SAMUELSON,
        implementation="cogfit.models.dd:DD_EXP",
        columns=DD_COLUMNS,
        stateless=True,
    ),
    ModelSpec(
        "dd_hyperbolic",
        "Delay discounting, hyperbolic: V = amount / (1 + k * delay)",
        DD_TASK,
        (K, BETA),
        DD_LATENTS,
        affine=False,
        reference=MAZUR,
        implementation="cogfit.models.dd:DD_HYPERBOLIC",
        columns=DD_COLUMNS,
        stateless=True,
    ),
    ModelSpec(
        "dd_cs",
        "Delay discounting, constant sensitivity: V = amount * exp(-(r * delay)^s)",
        DD_TASK,
        (R, S, BETA),
        DD_LATENTS,
        affine=False,
        reference=EBERT_PRELEC,
        implementation="cogfit.models.dd:DD_CS",
        columns=DD_COLUMNS,
        stateless=True,
    ),
)
