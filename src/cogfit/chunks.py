"""Chunks of posterior draws, so an analysis over all draws stays in a fixed memory budget.

The analysis stages (marginal likelihood, posterior predictive checks, regressors) each
evaluate the model once per draw over all participants and trials. Done for all draws at
once, 10,000 participants x 200 trials x 8,000 draws would need terabytes; in chunks of
draws sized by :data:`CELL_BUDGET`, memory is bounded whatever the data's size.
"""

from __future__ import annotations

from collections.abc import Iterator

#: most (draw x participant x trial x option-or-sample) cells one chunk computes at once;
#: with a few float32 arrays of that size alive, a chunk stays within a few hundred MB
CELL_BUDGET = 8_000_000


def chunk_length(n_draws: int, cells_per_draw: int, budget: int = CELL_BUDGET) -> int:
    """Draws per chunk: as many as fit in ``budget`` cells, at least one."""
    return max(1, min(n_draws, budget // max(1, cells_per_draw)))


def draw_chunks(n_draws: int, cells_per_draw: int, budget: int = CELL_BUDGET) -> Iterator[slice]:
    """Consecutive slices over ``n_draws`` draws, each of at most :func:`chunk_length`."""
    step = chunk_length(n_draws, cells_per_draw, budget)
    for start in range(0, n_draws, step):
        yield slice(start, min(start + step, n_draws))
