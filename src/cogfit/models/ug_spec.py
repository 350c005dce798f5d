"""The ultimatum-game (ug) family's model specs (plain data, no JAX).

On each trial a proposer offers the participant (the responder) ``offer`` out of a fixed
total; accepting pays both, rejecting pays neither. The participant holds a norm, the offer
they expect, and dislikes falling short of it (envy ``alpha``) and, in ``ug_bayes``, also
exceeding it (guilt ``beta``): ``U = offer - alpha * max(norm - offer, 0)
- beta * max(offer - norm, 0)``, ``p(accept) = logistic(tau * U)`` (rejecting is worth 0).
The norm is learned from the offers: by a delta rule at rate ``ep`` from 10 (Gu et al.
2015), or as the posterior mean of an ideal Bayesian observer (Xiang, Lohrenz & Montague
2013) whose prior is the one hBayesDM uses (mean 10 worth 4 offers); see
:mod:`cogfit.models.ug` for the equations. The offers' scale is the one these initial
norms assume: a split of 20 (offers 0-20; an even split is 10).

Bounds and default priors follow hBayesDM's ug models: ``Phi`` links scaled to ``alpha`` in
(0, 20), ``beta`` in (0, 10), ``tau`` in (0, 10), and ``ep`` in (0, 1); group means
``~ Normal(0, 1)``, group sds ``~ HalfNormal(0.2)`` on the probit scale.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the hBayesDM convention for a parameter's group sd on the probit scale
SD_SCALE = 0.2

ALPHA = ParamSpec(
    "alpha",
    "scaled_probit",
    upper=20.0,
    sd_scale=SD_SCALE,
    description="envy: aversion to offers below the norm (0-20)",
)
BETA = ParamSpec(
    "beta",
    "scaled_probit",
    upper=10.0,
    sd_scale=SD_SCALE,
    description="guilt: aversion to offers above the norm (0-10)",
)
TAU = ParamSpec(
    "tau",
    "scaled_probit",
    upper=10.0,
    sd_scale=SD_SCALE,
    description="inverse temperature on the offer's utility (0-10)",
)
EP = ParamSpec(
    "ep",
    "probit",
    sd_scale=SD_SCALE,
    description="norm adaptation (learning) rate (0-1)",
)

#: the trial-wise quantities of the family's regressors: the norm before the trial, the
#: offer's deviation from it and the offer's utility
UG_LATENTS = ("norm", "norm_prediction_error", "utility")

#: the task of the ug family
UG_TASK = "ultimatum game (responder): accept or reject an offer out of a fixed total"

#: an ultimatum-game trial: the offer and the response
UG_COLUMNS = (
    ColumnSpec(
        "offer",
        "real",
        "the amount offered to the participant out of a total of 20 (e.g. 4, 10, 11)",
    ),
    ColumnSpec(
        "accept",
        "binary",
        "the response: 1 = accepted the offer, 0 = rejected it",
        response=True,
    ),
)

GU = (
    "Gu, Wang, Hula, Wang, Xu, Lohrenz, Knight, Gao, Dayan & Montague (2015), "
    "J. Neurosci. 35:467-473"
)
XIANG = "Xiang, Lohrenz & Montague (2013), J. Neurosci. 33:1099-1108"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "ug_delta",
        "Ultimatum game: envy of offers below a norm learned by a delta rule",
        UG_TASK,
        (ALPHA, TAU, EP),
        UG_LATENTS,
        affine=True,
        reference=GU,
        implementation="cogfit.models.ug:UG_DELTA",
        columns=UG_COLUMNS,
    ),
    ModelSpec(
        "ug_bayes",
        "Ultimatum game: envy and guilt around a norm learned by an ideal Bayesian observer",
        UG_TASK,
        (ALPHA, BETA, TAU),
        UG_LATENTS,
        affine=False,
        reference=XIANG,
        implementation="cogfit.models.ug:UG_BAYES",
        columns=UG_COLUMNS,
    ),
)
