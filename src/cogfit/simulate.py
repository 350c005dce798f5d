"""Plain-NumPy generative simulator of the bandit models.

Deliberately independent of the JAX model code: parameter recovery and the example data
would prove nothing if data were simulated and fitted by the same implementation. The
semantics below are the contract both implementations follow:

* values ``V`` start at 0 for every option; the last-choice indicator starts all zeros;
* ``P(choice) = softmax(beta * V + kappa * onehot(last valid choice))``;
* ``outcome ~ Bernoulli(reward_probs[t, choice])`` as 0.0/1.0;
* ``delta = outcome - V[choice]``; ``V[choice] += alpha * delta`` with ``alpha = alpha_pos``
  if ``delta >= 0`` else ``alpha_neg``; unchosen values stay;
* a missed trial has no choice, no outcome, no value update and keeps the last valid choice.
"""

from __future__ import annotations

import numpy as np

from cogfit.data import TaskData, from_arrays
from cogfit.models.catalog import SPECS

#: model name -> the parameters it takes (each an array of shape [P]), for the models this
#: simulator knows: from their specs (plain data; the simulator never imports JAX)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {
    name: SPECS[name].param_names for name in ("rw", "rw_dual", "rw_persev")
}
MISSED = -1  # choice code of a missed trial


def standard_params(
    model: str, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map any model's parameters to the general form (alpha_pos, alpha_neg, beta, kappa).

    All three models are special cases of one update rule, so one simulator serves them all.
    """
    if model not in MODEL_PARAMS:
        raise ValueError(f"unknown model {model!r}; known models: {sorted(MODEL_PARAMS)}")
    names = MODEL_PARAMS[model]
    if set(params) != set(names):
        raise ValueError(f"model {model!r} takes parameters {list(names)}, got {sorted(params)}")
    arrays = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    shapes = {k: a.shape for k, a in arrays.items()}
    if len(set(shapes.values())) != 1 or len(shapes["beta"]) != 1:
        raise ValueError(f"parameters must all have the same shape [P], got {shapes}")
    zeros = np.zeros_like(arrays["beta"])
    alpha_pos = arrays.get("alpha_pos", arrays.get("alpha"))
    alpha_neg = arrays.get("alpha_neg", arrays.get("alpha"))
    for name, a in (("alpha_pos", alpha_pos), ("alpha_neg", alpha_neg)):
        if not np.all((a >= 0) & (a <= 1)):
            raise ValueError(f"learning rates ({name}) must lie in [0, 1]")
    if not np.all(np.isfinite(arrays["beta"])):
        raise ValueError("beta must be finite")
    return alpha_pos, alpha_neg, arrays["beta"], arrays.get("kappa", zeros)


def choice_probabilities(
    values: np.ndarray, last_choice: np.ndarray, beta: np.ndarray, kappa: np.ndarray
) -> np.ndarray:
    """Softmax of ``beta * V + kappa * last_choice`` per participant: [P, K] -> [P, K]."""
    logits = beta[:, None] * values + kappa[:, None] * last_choice
    logits -= logits.max(axis=1, keepdims=True)  # stable; softmax is shift-invariant
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def update_values(
    values: np.ndarray,
    choices: np.ndarray,
    outcomes: np.ndarray,
    valid: np.ndarray,
    alpha_pos: np.ndarray,
    alpha_neg: np.ndarray,
) -> np.ndarray:
    """One trial's delta-rule update; pure, and a no-op for participants who missed the trial."""
    rows = np.arange(values.shape[0])
    chosen = np.where(valid, choices, 0)
    delta = np.where(valid, outcomes, 0.0) - values[rows, chosen]
    alpha = np.where(delta >= 0, alpha_pos, alpha_neg)
    new = values.copy()
    new[rows, chosen] += np.where(valid, alpha * delta, 0.0)
    return new


def update_last_choice(
    last_choice: np.ndarray, choices: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    """One-hot of the latest valid choice; a missed trial keeps the previous one."""
    onehot = np.eye(last_choice.shape[1])[np.where(valid, choices, 0)]
    return np.where(valid[:, None], onehot, last_choice)


def _sample_categorical(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one option per row from uniforms ``u`` in [0, 1)."""
    cdf = np.cumsum(probs, axis=1)
    return np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def simulate_bandit(
    model: str,
    params: dict[str, np.ndarray],
    reward_probs: np.ndarray,
    rng: np.random.Generator,
    missing_prob: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate P participants on one reward schedule ``reward_probs`` [T, K].

    Returns ``choices`` int [P, T] (0-based, -1 when missed), ``outcomes`` float [P, T]
    (NaN when missed) and ``valid`` bool [P, T]. Every trial draws the same random numbers
    whatever ``missing_prob`` is, so runs that differ only in it share their random stream.
    """
    alpha_pos, alpha_neg, beta, kappa = standard_params(model, params)
    reward_probs = np.asarray(reward_probs, dtype=float)
    if reward_probs.ndim != 2 or reward_probs.shape[1] < 2:
        raise ValueError(f"reward_probs must have shape [T, K>=2], got {reward_probs.shape}")
    if not np.all((reward_probs >= 0) & (reward_probs <= 1)):
        raise ValueError("reward_probs must lie in [0, 1]")
    if not 0 <= missing_prob < 1:
        raise ValueError(f"missing_prob must lie in [0, 1), got {missing_prob}")

    n_participants, (n_trials, n_options) = beta.shape[0], reward_probs.shape
    values = np.zeros((n_participants, n_options))
    last_choice = np.zeros((n_participants, n_options))
    choices = np.full((n_participants, n_trials), MISSED, dtype=np.int64)
    outcomes = np.full((n_participants, n_trials), np.nan)
    valid = np.zeros((n_participants, n_trials), dtype=bool)
    for t in range(n_trials):
        responded = rng.random(n_participants) >= missing_prob
        probs = choice_probabilities(values, last_choice, beta, kappa)
        choice = _sample_categorical(probs, rng.random(n_participants))
        reward = (rng.random(n_participants) < reward_probs[t, choice]).astype(float)
        values = update_values(values, choice, reward, responded, alpha_pos, alpha_neg)
        last_choice = update_last_choice(last_choice, choice, responded)
        choices[responded, t] = choice[responded]
        outcomes[responded, t] = reward[responded]
        valid[:, t] = responded
    return choices, outcomes, valid


def reversal_schedule(
    n_trials: int, p_high: float = 0.8, reversal_every: int = 60, n_options: int = 2
) -> np.ndarray:
    """Reward probabilities [T, K]: one good option (``p_high``), the rest ``1 - p_high``.

    Option 0 is good first; the good option moves to the next one every ``reversal_every``
    trials (with two options this is the classic reversal; with more it rotates).
    """
    if n_trials < 1 or reversal_every < 1 or n_options < 2 or not 0 <= p_high <= 1:
        raise ValueError(
            "need n_trials >= 1, reversal_every >= 1, n_options >= 2, p_high in [0, 1]"
        )
    good = (np.arange(n_trials) // reversal_every) % n_options
    probs = np.full((n_trials, n_options), 1.0 - p_high)
    probs[np.arange(n_trials), good] = p_high
    return probs


def as_task_data(
    choices: np.ndarray,
    outcomes: np.ndarray,
    valid: np.ndarray,
    group_index: np.ndarray | None = None,
    groups: tuple[str, ...] = ("all",),
    n_options: int = 2,
) -> TaskData:
    """Package :func:`simulate_bandit` output as the padded arrays a fit reads.

    Participants are named ``p0``, ``p1``, ...; missed cells are zeroed and masked.
    """
    columns = {"choice": choices, "outcome": outcomes}
    return from_arrays(columns, valid, group_index=group_index, groups=groups, n_options=n_options)


__all__ = [
    "MODEL_PARAMS",
    "as_task_data",
    "choice_probabilities",
    "reversal_schedule",
    "simulate_bandit",
    "standard_params",
    "update_last_choice",
    "update_values",
]
