"""The model's trial-wise outputs at many posterior draws, a chunk of draws at a time.

Posterior predictive checks and regressors both run the model along every participant's
observed history once per draw (:func:`cogfit.likelihood.trial_outputs`). Here one jitted
program, vmapped over draws, does that for chunks sized by :mod:`cogfit.chunks`, so the
memory stays bounded whatever the number of draws.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from cogfit.chunks import CELL_BUDGET, chunk_length, draw_chunks
from cogfit.data import TaskData
from cogfit.fitted import Fit, participant_draws
from cogfit.models import BehaviouralModel


def flat_draws(fit: Fit, keep: int) -> dict[str, np.ndarray]:
    """Each parameter's natural-scale participant values at ``keep`` evenly thinned draws,
    [draw, participant]; draws chain by chain (draw ``c * n + i`` is chain c's i-th)."""
    draws = participant_draws(fit, keep)
    return {k: v.reshape(-1, v.shape[-1]) for k, v in draws.items()}


def output_chunks(
    model: BehaviouralModel,
    data: TaskData,
    draws: Mapping[str, np.ndarray],
    names: Sequence[str] | None = None,
    budget: int = CELL_BUDGET,
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """:func:`cogfit.likelihood.trial_outputs` of every draw, a chunk of draws at a time.

    ``draws`` maps each parameter to [D, P]; ``names`` picks outputs (default all). Yields
    ``(draws slice, {name: [n, P, T, ...]})``. One jitted program serves every chunk: the
    last chunk is padded to the full length with copies of its last draw, then cut back.
    """
    import jax
    import jax.numpy as jnp

    n_draws = next(iter(draws.values())).shape[0]
    one = _one_draw(model, data.n_options, names)
    arrays = (jnp.asarray(data.choices), jnp.asarray(data.outcomes), jnp.asarray(data.mask))
    cells = _cells_per_draw(one, draws, arrays)
    length = chunk_length(n_draws, cells, budget)
    compiled = jax.jit(jax.vmap(one, in_axes=(0, None, None, None)))
    for part in draw_chunks(n_draws, cells, budget):
        n = part.stop - part.start
        chunk = {k: _padded(np.asarray(v[part]), length) for k, v in draws.items()}
        out = compiled(chunk, *arrays)
        yield part, {k: np.asarray(v)[:n] for k, v in out.items()}


def _one_draw(model: BehaviouralModel, n_options: int, names: Sequence[str] | None) -> Any:
    """``(params [P], choices, outcomes, mask) -> {name: [P, T, ...]}`` for one draw."""
    from cogfit.likelihood import trial_outputs

    def one(params, choices, outcomes, mask):  # noqa: ANN001, ANN202
        out = trial_outputs(model, params, choices, outcomes, mask, n_options)
        return out if names is None else {k: out[k] for k in names}

    return one


def _cells_per_draw(one: Any, draws: Mapping[str, np.ndarray], arrays: tuple) -> int:
    """Output cells one draw produces (its shapes, traced without computing)."""
    import jax

    params = {k: jax.ShapeDtypeStruct(v.shape[1:], np.float32) for k, v in draws.items()}
    shapes = jax.eval_shape(one, params, *arrays)
    return int(sum(np.prod(s.shape) for s in jax.tree.leaves(shapes)))


def _padded(x: np.ndarray, length: int) -> np.ndarray:
    """``x`` [n, ...] padded along its first axis to ``length`` by repeating its last row."""
    return np.pad(x, [(0, length - x.shape[0])] + [(0, 0)] * (x.ndim - 1), mode="edge")


def fit_precision(fit: Fit) -> str:
    """The floating-point precision the fit ran in (its analyses run in the same)."""
    return str(fit.idata.posterior.attrs.get("precision", "float32"))
