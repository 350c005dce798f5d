"""The Iowa gambling task family's model specs (plain data, no JAX).

Four decks (A-D); each pick pays a gain and sometimes a loss. The models learn from the
trial's net outcome ``x = gain - |loss|`` (the loss column may hold losses as negative or
positive numbers: only its magnitude counts), in the units the cleaned data have: a
dataset's ``scale`` key multiplies the payoffs (hBayesDM divides them by its ``payscale``
of 100, which is ``scale: {gain: 0.01, loss: 0.01}``); the models divide by nothing.

* ``igt_pvl_delta``: prospect utility, delta-rule expectancies, softmax with
  ``theta = 3^cons - 1``;
* ``igt_pvl_decay``: the same utility and choice rule, decay-reinforcement expectancies;
* ``igt_vpp``: PVL-Delta expectancies plus an outcome-dependent perseverance trace,
  mixed by a weight ``w``;
* ``igt_orl``: expected value and expected win frequency (with fictive updating of the
  unchosen decks) learnt at separate rates after net gains and losses, plus a decaying
  perseverance trace.

The equations are in :mod:`cogfit.models.igt`. Bounds and default priors follow hBayesDM's
hierarchical versions: ``Phi`` links (``probit``, ``scaled_probit``) with the published
bounds, group means ``Normal(0, 1)`` and sds ``HalfNormal(0.2)`` on the probit scale; the
unbounded weights (epP, epN, betaF, betaP) are identity-linked with mean ``Normal(0, 1)``
and a heavier-tailed sd prior ``HalfCauchy(1)``.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the task of the family
TASK = "Iowa gambling task: one of four decks per trial, each pick paying a gain and maybe a loss"

#: the number of decks (the choice column's levels)
N_DECKS = 4

#: a trial: the deck chosen, and the pick's gain and loss
COLUMNS = (
    ColumnSpec(
        "choice",
        "option",
        "the deck chosen: 1-4 for decks A-D with choice_base: 1 (classically A and B are "
        "disadvantageous, C and D advantageous); an empty cell is a missed trial",
        response=True,
        levels=N_DECKS,
    ),
    ColumnSpec(
        "gain",
        "real",
        "the amount won on the trial (>= 0, e.g. 100); hBayesDM's payscale of 100 is "
        "the dataset's scale {gain: 0.01, loss: 0.01}",
    ),
    ColumnSpec(
        "loss",
        "real",
        "the amount lost on the trial, negative (-250) or positive (250): the models use "
        "its magnitude, and the net outcome gain - |loss|; 0 when nothing was lost",
    ),
)

# the hBayesDM convention: Phi links with the published bounds, mean ~ Normal(0, 1),
# sd ~ HalfNormal(0.2) for bounded parameters
_SD = 0.2
#: the sd prior of the unbounded weights: half-Cauchy(0, 1), hBayesDM's
_WIDE = {"sd_scale": 1.0, "sd_prior": "half_cauchy"}

A_DELTA = ParamSpec(
    "A", "probit", sd_scale=_SD, description="learning rate of the delta rule (0-1)"
)
A_DECAY = ParamSpec(
    "A", "probit", sd_scale=_SD, description="decay (memory) of the expectancies (0-1)"
)
ALPHA = ParamSpec(
    "alpha", "scaled_probit", upper=2.0, sd_scale=_SD, description="outcome sensitivity (0-2)"
)
CONS = ParamSpec(
    "cons",
    "scaled_probit",
    upper=5.0,
    sd_scale=_SD,
    description="response consistency (0-5); inverse temperature 3^cons - 1",
)
LAMBDA = ParamSpec(
    "lambda", "scaled_probit", upper=10.0, sd_scale=_SD, description="loss aversion (0-10)"
)
EP_P = ParamSpec("epP", "identity", **_WIDE, description="perseverance impact of a net gain")
EP_N = ParamSpec("epN", "identity", **_WIDE, description="perseverance impact of a net loss")
K_VPP = ParamSpec(
    "K", "probit", sd_scale=_SD, description="perseverance decay: the trace kept per trial (0-1)"
)
W = ParamSpec(
    "w", "probit", sd_scale=_SD, description="weight of the expectancy vs perseverance (0-1)"
)
A_REW = ParamSpec(
    "Arew", "probit", sd_scale=_SD, description="learning rate after a net gain (0-1)"
)
A_PUN = ParamSpec(
    "Apun", "probit", sd_scale=_SD, description="learning rate after a net loss (0-1)"
)
K_ORL = ParamSpec(
    "K",
    "scaled_probit",
    upper=5.0,
    sd_scale=_SD,
    description="perseverance decay (0-5): the trace shrinks by 3^K per trial",
)
BETA_F = ParamSpec("betaF", "identity", **_WIDE, description="weight of the expected win frequency")
BETA_P = ParamSpec("betaP", "identity", **_WIDE, description="weight of perseverance")

AHN_2008 = "Ahn, Busemeyer, Wagenmakers & Stout (2008), Cognitive Science 32:1376-1402"
AHN_2014 = (
    "Ahn, Vasilev, Lee, Busemeyer, Kruschke, Bechara & Vassileva (2014), "
    "Frontiers in Psychology 5:849"
)
WORTHY_2013 = "Worthy, Pang & Byrne (2013), Frontiers in Psychology 4:640"
HAINES_2018 = "Haines, Vassileva & Ahn (2018), Cognitive Science 42:2534-2561"

#: the trial-wise quantities, on the state before the trial: every deck's expectancy
#: (``ev``), the chosen deck's, the trial's utility and the delta rule's prediction error
PVL_LATENTS = ("ev", "ev_chosen", "utility", "prediction_error")

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "igt_pvl_delta",
        "Prospect valence learning: prospect utility, delta-rule expectancies (PVL-Delta)",
        TASK,
        (A_DELTA, ALPHA, CONS, LAMBDA),
        PVL_LATENTS,
        affine=True,
        reference=AHN_2008,
        implementation="cogfit.models.igt:IGT_PVL_DELTA",
        columns=COLUMNS,
    ),
    ModelSpec(
        "igt_pvl_decay",
        "Prospect valence learning with the decay-reinforcement rule (PVL-Decay)",
        TASK,
        (A_DECAY, ALPHA, CONS, LAMBDA),
        ("ev", "ev_chosen", "utility"),
        affine=True,
        reference=f"{AHN_2008}; {AHN_2014}",
        implementation="cogfit.models.igt:IGT_PVL_DECAY",
        columns=COLUMNS,
    ),
    ModelSpec(
        "igt_vpp",
        "Value-plus-perseverance: PVL-Delta expectancies mixed with a perseverance trace",
        TASK,
        (A_DELTA, ALPHA, CONS, LAMBDA, EP_P, EP_N, K_VPP, W),
        (*PVL_LATENTS, "persev", "value"),
        affine=True,
        reference=WORTHY_2013,
        implementation="cogfit.models.igt:IGT_VPP",
        columns=COLUMNS,
    ),
    ModelSpec(
        "igt_orl",
        "Outcome-representation learning: expected value, win frequency and perseverance",
        TASK,
        (A_REW, A_PUN, K_ORL, BETA_F, BETA_P),
        ("ev", "ev_chosen", "prediction_error", "ef", "persev", "value"),
        affine=True,
        reference=HAINES_2018,
        implementation="cogfit.models.igt:IGT_ORL",
        columns=COLUMNS,
    ),
)
