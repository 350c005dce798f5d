"""The simulated datasets every benchmark fits: one definition, so tables agree on data.

Hierarchical Rescorla-Wagner, known parameters (probit-normal learning rates, scaled
probit-normal inverse temperatures on 0-20), a reversal schedule and 3% missed
responses; the seed depends only on the size. With ``groups=2`` every other participant
is in a second group with a lower mean learning rate.
"""

from __future__ import annotations

import math

import numpy as np

from cogfit.simulate import reversal_schedule, simulate_bandit


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (the probit link's inverse)."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x) / math.sqrt(2.0)))


def simulate(
    n_p: int, n_t: int, groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(choices, outcomes, valid, group_index): arrays [P, T], [P, T], [P, T], [P]."""
    rng = np.random.default_rng(1000 * n_p + n_t)
    group_index = np.arange(n_p) % groups
    z = rng.normal(size=(2, n_p))
    alpha_mu = np.where(group_index == 0, -0.5, -1.0)
    params = {"alpha": ndtr(alpha_mu + 0.3 * z[0]), "beta": 20 * ndtr(-0.9 + 0.25 * z[1])}
    choices, outcomes, valid = simulate_bandit("rw", params, reversal_schedule(n_t), rng, 0.03)
    return choices, outcomes, valid, group_index.astype(np.int32)


def padded(n_p: int, n_t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-group data as the JAX models take it: missed trials zero-filled and masked."""
    choices, outcomes, valid, _ = simulate(n_p, n_t)
    return (
        np.where(valid, choices, 0).astype(np.int32),
        np.where(valid, outcomes, 0.0).astype(np.float32),
        valid,
    )
