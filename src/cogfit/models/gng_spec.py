"""The orthogonalised go/no-go family's model specs (plain data, no JAX).

Guitart-Masip et al. (2012) crossed action (go: press a key; no-go: withhold) with
valence (win a reward; avoid a punishment) in four cues. Each model learns, per cue,
instrumental values of going and of not going with a Rescorla-Wagner rule; the variants
add a constant go bias ``b`` and a Pavlovian bias ``pi`` that scales the cue's learnt
value into the go weight, and, in ``gng_m4``, separate sensitivities to rewards and to
punishments. Names and parameters follow hBayesDM's ``gng_m1``..``gng_m4``.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: hBayesDM's priors: Phi links for the rates, exp for the sensitivities (group means
#: Normal(0, 1), spreads half-normal(0.2)); b and pi unbounded with Normal(0, 10) group
#: means and half-Cauchy(0, 1) spreads
XI = ParamSpec(
    "xi", "probit", sd_scale=0.2, description="irreducible noise: share of random choices (0-1)"
)
EP = ParamSpec("ep", "probit", sd_scale=0.2, description="learning rate (0-1)")
RHO = ParamSpec("rho", "exp", sd_scale=0.2, description="outcome sensitivity (effective size, >0)")
B = ParamSpec(
    "b",
    "identity",
    mean_scale=10.0,
    sd_scale=1.0,
    sd_prior="half_cauchy",
    description="go bias (real)",
)
PI = ParamSpec(
    "pi",
    "identity",
    mean_scale=10.0,
    sd_scale=1.0,
    sd_prior="half_cauchy",
    description="Pavlovian bias: weight of the cue's value on going (real)",
)
RHO_REW = ParamSpec("rhoRew", "exp", sd_scale=0.2, description="reward sensitivity (>0)")
RHO_PUN = ParamSpec("rhoPun", "exp", sd_scale=0.2, description="punishment sensitivity (>0)")

TASK = "orthogonalised go/no-go: four cues cross go/no-go with win/avoid; press or withhold"

#: a trial: the cue shown, whether the key was pressed (the response), the outcome
COLUMNS = (
    ColumnSpec(
        "cue",
        "code",
        "the cue shown (with choice_base: 1): 1 = go to win, 2 = go to avoid losing, "
        "3 = no-go to win, 4 = no-go to avoid losing",
        levels=4,
    ),
    ColumnSpec(
        "pressed",
        "binary",
        "the response: 1 = the key was pressed (go), 0 = not pressed (no-go)",
        response=True,
    ),
    ColumnSpec("outcome", "real", "the feedback: 1 = reward, 0 = nothing, -1 = punishment"),
)

#: trial-wise quantities for the cue shown, before the trial
LATENTS = ("q_go", "q_nogo", "w_go", "w_nogo", "prediction_error")
#: with a Pavlovian bias, also the cue's learnt (stimulus) value
PAVLOVIAN_LATENTS = (*LATENTS, "stimulus_value")

GUITART_MASIP = (
    "Guitart-Masip, Huys, Fuentemilla, Dayan, Duzel & Dolan (2012), NeuroImage 62:154-166"
)
CAVANAGH = "Cavanagh, Eisenberg, Guitart-Masip, Huys & Frank (2013), J. Neurosci. 33:8541-8548"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "gng_m1",
        "Go/no-go: Rescorla-Wagner action values with irreducible noise",
        TASK,
        (XI, EP, RHO),
        LATENTS,
        affine=True,
        state_per="cue",
        reference=GUITART_MASIP,
        implementation="cogfit.models.gng:GNG_M1",
        columns=COLUMNS,
    ),
    ModelSpec(
        "gng_m2",
        "Go/no-go: Rescorla-Wagner action values with noise and a go bias",
        TASK,
        (XI, EP, B, RHO),
        LATENTS,
        affine=True,
        state_per="cue",
        reference=GUITART_MASIP,
        implementation="cogfit.models.gng:GNG_M2",
        columns=COLUMNS,
    ),
    ModelSpec(
        "gng_m3",
        "Go/no-go: Rescorla-Wagner action values with noise, a go bias and a Pavlovian bias",
        TASK,
        (XI, EP, B, PI, RHO),
        PAVLOVIAN_LATENTS,
        affine=True,
        state_per="cue",
        reference=GUITART_MASIP,
        implementation="cogfit.models.gng:GNG_M3",
        columns=COLUMNS,
    ),
    ModelSpec(
        "gng_m4",
        "Go/no-go: as gng_m3 with separate reward and punishment sensitivities",
        TASK,
        (XI, EP, B, PI, RHO_REW, RHO_PUN),
        PAVLOVIAN_LATENTS,
        affine=True,
        state_per="cue",
        reference=f"{GUITART_MASIP}; {CAVANAGH}",
        implementation="cogfit.models.gng:GNG_M4",
        columns=COLUMNS,
    ),
)
