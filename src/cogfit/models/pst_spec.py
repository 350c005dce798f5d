"""The probabilistic selection task family's model specs (plain data, no JAX).

Frank et al. (2007): six stimuli in three training pairs (A/B, C/D, E/F; hBayesDM's
stimuli 1..6, rewarded with probability 0.8/0.2, 0.7/0.3, 0.6/0.4), then, in a test
phase, any two of them without feedback. A Q-learner keeps one value per stimulus,
chooses within the pair by a logistic rule on the values' difference and learns only
the chosen stimulus's value; ``pst_gainloss_Q`` learns at separate rates from positive
("Go") and negative ("NoGo") prediction errors. Names and parameters follow hBayesDM's
``pst_Q`` and ``pst_gainloss_Q``.
"""

from __future__ import annotations

from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec

#: the stimuli, numbered 1..6 in the raw pair codes
N_STIMULI = 6
#: every ordered pair of two distinct stimuli as its two-digit code "first second"
PAIR_CODES: tuple[int, ...] = tuple(
    10 * first + second
    for first in range(1, N_STIMULI + 1)
    for second in range(1, N_STIMULI + 1)
    if first != second
)

#: hBayesDM's priors: Phi links, beta in (0, 10), group means Normal(0, 1), spreads
#: half-normal(0.2)
ALPHA = ParamSpec("alpha", "probit", sd_scale=0.2, description="learning rate (0-1)")
ALPHA_POS = ParamSpec(
    "alpha_pos", "probit", sd_scale=0.2, description="learning rate after a positive PE (0-1)"
)
ALPHA_NEG = ParamSpec(
    "alpha_neg", "probit", sd_scale=0.2, description="learning rate after a negative PE (0-1)"
)
BETA = ParamSpec(
    "beta", "scaled_probit", upper=10.0, sd_scale=0.2, description="inverse temperature (0-10)"
)

TASK = "probabilistic selection: choose one of two stimuli (of six), reward 1 or 0"

#: a trial: the pair shown, which of the two was chosen (the response), the reward
COLUMNS = (
    ColumnSpec(
        "pair",
        "code",
        "the two stimuli shown as a two-digit code 'first second' of stimuli 1..6 (e.g. 12, "
        "34, 56 in training; any two distinct stimuli in a test phase); hBayesDM's 'type'",
        values=PAIR_CODES,
    ),
    ColumnSpec(
        "choice",
        "binary",
        "the response: 1 = the pair's first (tens-digit) stimulus chosen, 0 = the second",
        response=True,
    ),
    ColumnSpec(
        "reward",
        "real",
        "the feedback: 1 = reward, 0 = none; empty on a trial without feedback (a test "
        "phase), whose choice is scored but teaches nothing",
        missing=True,
    ),
)

#: trial-wise quantities before the trial: every stimulus's value, the pair's two values,
#: the chosen one's, and the prediction error (NaN without feedback)
LATENTS = ("value", "value_first", "value_second", "value_chosen", "prediction_error")

FRANK = "Frank, Moustafa, Haughey, Curran & Hutchison (2007), PNAS 104:16311-16316"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "pst_Q",
        "Probabilistic selection: Q-learning of stimulus values with a logistic choice rule",
        TASK,
        (ALPHA, BETA),
        LATENTS,
        affine=True,
        reference=FRANK,
        implementation="cogfit.models.pst:PST_Q",
        columns=COLUMNS,
    ),
    ModelSpec(
        "pst_gainloss_Q",
        "Probabilistic selection: Q-learning with separate rates for gains and losses",
        TASK,
        (ALPHA_POS, ALPHA_NEG, BETA),
        LATENTS,
        affine=False,
        reference=FRANK,
        implementation="cogfit.models.pst:PST_GAINLOSS_Q",
        columns=COLUMNS,
    ),
)
