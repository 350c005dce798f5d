"""The built-in models' metadata (:class:`~cogfit.models.spec.ModelSpec`), by config name.

Plain data, importable without JAX; each spec names the module that implements its step
functions, imported only when a model is fitted or analysed (:func:`cogfit.models.get_model`).
"""

from __future__ import annotations

from cogfit.models import (
    dd_spec,
    gng_spec,
    igt_spec,
    narm_spec,
    prl_spec,
    pst_spec,
    ra_spec,
    ts_spec,
    ug_spec,
)
from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the trial-wise quantities of the delta-rule family's regressors
DELTA_RULE_LATENTS = ("value", "value_chosen", "prediction_error")

ALPHA = ParamSpec("alpha", "probit", description="learning rate (0-1)")
ALPHA_POS = ParamSpec("alpha_pos", "probit", description="learning rate after positive PE")
ALPHA_NEG = ParamSpec("alpha_neg", "probit", description="learning rate after negative PE")
BETA = ParamSpec(
    "beta", "scaled_probit", upper=20.0, mean_loc=-1.0, description="inverse temperature (0-20)"
)
KAPPA = ParamSpec("kappa", "identity", description="perseveration bonus for the last choice")

#: the task of the delta-rule family
BANDIT = "bandit: one choice among n_options, one outcome per trial"

#: a bandit trial: the option chosen (of the dataset's ``n_options``), and its outcome
BANDIT_COLUMNS = (
    ColumnSpec("choice", "option", "the option chosen", response=True),
    ColumnSpec("outcome", "real", "the chosen option's outcome (reward)"),
)

RESCORLA_WAGNER = "Rescorla & Wagner (1972), Classical Conditioning II, 64-99"

DELTA_RULE_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "rw",
        "Rescorla-Wagner learning with a softmax choice rule",
        BANDIT,
        (ALPHA, BETA),
        DELTA_RULE_LATENTS,
        affine=True,
        reference=RESCORLA_WAGNER,
        implementation="cogfit.models.delta_rule:RW",
        columns=BANDIT_COLUMNS,
    ),
    ModelSpec(
        "rw_dual",
        "Rescorla-Wagner with separate learning rates for positive and negative prediction errors",
        BANDIT,
        (ALPHA_POS, ALPHA_NEG, BETA),
        DELTA_RULE_LATENTS,
        affine=False,
        reference=("Frank, Moustafa, Haughey, Curran & Hutchison (2007), PNAS 104:16311-16316"),
        implementation="cogfit.models.delta_rule:RW_DUAL",
        columns=BANDIT_COLUMNS,
    ),
    ModelSpec(
        "rw_persev",
        "Rescorla-Wagner with a softmax that adds a perseveration bonus to the last choice",
        BANDIT,
        (ALPHA, BETA, KAPPA),
        DELTA_RULE_LATENTS,
        affine=True,
        reference="Lau & Glimcher (2005), J. Exp. Anal. Behav. 84:555-579",
        implementation="cogfit.models.delta_rule:RW_PERSEV",
        columns=BANDIT_COLUMNS,
    ),
)


#: every built-in model by config name: the delta-rule family, then one module per task
SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        *DELTA_RULE_SPECS,
        *narm_spec.SPECS,
        *prl_spec.SPECS,
        *gng_spec.SPECS,
        *pst_spec.SPECS,
        *igt_spec.SPECS,
        *ts_spec.SPECS,
        *dd_spec.SPECS,
        *ra_spec.SPECS,
        *ug_spec.SPECS,
    )
}
