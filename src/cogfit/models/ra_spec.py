"""The risk-aversion (ra) family's model specs (plain data, no JAX).

Each trial offers a 50/50 gamble (win ``gain`` or lose ``|loss|``) against a sure amount
``cert``; the participant gambles or takes the sure amount. Prospect-theory utilities
(Sokol-Hessner et al. 2009): ``v(x) = x^rho`` for ``x >= 0``, ``-lambda * (-x)^rho`` for
``x < 0``; ``U_gamble = 0.5 * v(gain) + 0.5 * v(-|loss|)``, ``U_cert = v(cert)``, and
``p(gamble) = logistic(tau * (U_gamble - U_cert))``. ``ra_noLA`` fixes ``lambda = 1``,
``ra_noRA`` fixes ``rho = 1``. One-shot choices: no state is carried between trials.

Bounds and default priors follow hBayesDM's ra models: ``Phi`` links scaled to ``rho`` in
(0, 2), ``lambda`` in (0, 5), ``tau`` in (0, 30); group means ``~ Normal(0, 1)``, group sds
``~ HalfNormal(0.2)`` on the probit scale.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the hBayesDM convention for a parameter's group sd on the probit scale
SD_SCALE = 0.2

RHO = ParamSpec(
    "rho",
    "scaled_probit",
    upper=2.0,
    sd_scale=SD_SCALE,
    description="risk attitude: curvature of the value function (0-2; < 1 risk averse)",
)
LAMBDA = ParamSpec(
    "lambda",
    "scaled_probit",
    upper=5.0,
    sd_scale=SD_SCALE,
    description="loss aversion: weight of losses relative to gains (0-5)",
)
TAU = ParamSpec(
    "tau",
    "scaled_probit",
    upper=30.0,
    sd_scale=SD_SCALE,
    description="inverse temperature on the utility difference (0-30)",
)

#: the trial-wise quantities of the family's regressors
RA_LATENTS = ("utility_gamble", "utility_certain")

#: the task of the ra family
RA_TASK = "risk aversion: a 50/50 gamble of a gain and a loss against a sure amount"

#: a risk-aversion trial: the gamble, the sure amount and the choice
RA_COLUMNS = (
    ColumnSpec("gain", "real", "the gamble's possible gain, won with probability 0.5 (e.g. 9)"),
    ColumnSpec(
        "loss",
        "real",
        "the gamble's possible loss, with probability 0.5, as a positive or a negative "
        "amount (5 or -5): its magnitude is used; 0 for a gain-only gamble",
    ),
    ColumnSpec(
        "cert",
        "real",
        "the sure amount of the safe option (0 or more; a negative one is valued as a loss)",
    ),
    ColumnSpec(
        "gamble",
        "binary",
        "the option taken: 1 = gambled, 0 = took the sure amount",
        response=True,
    ),
)

SOKOL_HESSNER = "Sokol-Hessner, Hsu, Curley, Delgado, Camerer & Phelps (2009), PNAS 106:5035-5040"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "ra_prospect",
        "Risk aversion, prospect theory: risk attitude rho, loss aversion lambda, tau",
        RA_TASK,
        (RHO, LAMBDA, TAU),
        RA_LATENTS,
        affine=False,
        reference=SOKOL_HESSNER,
        implementation="cogfit.models.ra:RA_PROSPECT",
        columns=RA_COLUMNS,
        stateless=True,
    ),
    ModelSpec(
        "ra_noLA",
        "Risk aversion, prospect theory without loss aversion (lambda = 1)",
        RA_TASK,
        (RHO, TAU),
        RA_LATENTS,
        affine=False,
        reference=SOKOL_HESSNER,
        implementation="cogfit.models.ra:RA_NOLA",
        columns=RA_COLUMNS,
        stateless=True,
    ),
    ModelSpec(
        "ra_noRA",
        "Risk aversion, prospect theory without risk attitude (rho = 1)",
        RA_TASK,
        (LAMBDA, TAU),
        RA_LATENTS,
        affine=False,
        reference=SOKOL_HESSNER,
        implementation="cogfit.models.ra:RA_NORA",
        columns=RA_COLUMNS,
        stateless=True,
    ),
)
