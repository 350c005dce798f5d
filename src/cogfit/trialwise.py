"""The model's trial-wise outputs at many posterior draws, a chunk of draws at a time.

Posterior predictive checks and regressors both run the model along every participant's
observed history once per draw (:func:`cogfit.likelihood.trial_outputs`). Here one jitted
program, vmapped over draws, does that for chunks sized by :mod:`cogfit.chunks`, and the
draws themselves are read chunk by chunk (:class:`PosteriorDraws`, from the lazily opened
posterior), so the working memory stays bounded whatever the number of draws. Summaries
over draws that need quantiles get them from order statistics (:func:`linear_quantile`),
so no stage keeps an array with one row per draw and participant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from cogfit.chunks import CELL_BUDGET, chunk_length, draw_chunks
from cogfit.data import TaskData
from cogfit.fitted import Fit, draw_indices
from cogfit.models import BehaviouralModel

#: most (draw x participant x parameter) values one read-ahead block of
#: :class:`PosteriorDraws` holds: a small share of the budget, since a chunk's computation
#: is alive beside it
READ_BUDGET = CELL_BUDGET // 8


class Draws(Protocol):
    """Participant-level parameter draws [D, P] per parameter, read a part at a time."""

    names: tuple[str, ...]
    n_draws: int
    n_participants: int

    def take(self, part: slice) -> dict[str, np.ndarray]:
        """The draws ``part`` of every parameter, [n, P] each."""
        ...

    def columns(self, name: str, participants: slice) -> np.ndarray:
        """Every draw of parameter ``name`` for the ``participants``, [D, p]."""
        ...


class ArrayDraws:
    """:class:`Draws` held in memory: ``arrays`` maps each parameter to [D, P]."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = dict(arrays)
        self.names = tuple(self.arrays)
        self.n_draws, self.n_participants = np.shape(next(iter(self.arrays.values())))

    def take(self, part: slice) -> dict[str, np.ndarray]:
        """The draws ``part``, [n, P] each."""
        return {k: np.asarray(v[part]) for k, v in self.arrays.items()}

    def columns(self, name: str, participants: slice) -> np.ndarray:
        """Every draw of ``name`` for the ``participants``, [D, p]."""
        return np.asarray(self.arrays[name][:, participants])


class PosteriorDraws:
    """:class:`Draws` read from a fit's lazily opened posterior: the natural-scale
    participant values at ``keep`` evenly thinned draws (:func:`cogfit.fitted.draw_indices`),
    chain by chain (draw ``c * n + i`` is chain c's i-th kept draw).

    Reads go ahead in blocks of at most ``budget`` (draw x participant x parameter) values,
    so a caller taking small consecutive parts reads the file once, a block at a time.
    """

    def __init__(self, fit: Fit, keep: int, budget: int = READ_BUDGET) -> None:
        self.posterior = fit.idata.posterior
        self.names = tuple(fit.model.param_names)
        sizes = self.posterior.sizes
        self.index = draw_indices(sizes["chain"], sizes["draw"], keep)
        self.n_chains, self.n_participants = int(sizes["chain"]), int(sizes["participant"])
        self.n_draws = self.n_chains * len(self.index)
        cells = self.n_participants * len(self.names)
        self.block = chunk_length(self.n_draws, cells, budget)
        self._read: tuple[int, int, dict[str, np.ndarray]] = (0, 0, {})

    def take(self, part: slice) -> dict[str, np.ndarray]:
        """The draws ``part``, [n, P] each, from the block read last or a new one."""
        start, stop, block = self._read
        if not (start <= part.start and part.stop <= stop):
            start, stop = part.start, min(self.n_draws, max(part.stop, part.start + self.block))
            block = {name: self._flat(name, start, stop, slice(None)) for name in self.names}
            self._read = (start, stop, block)
        return {k: v[part.start - start : part.stop - start] for k, v in block.items()}

    def columns(self, name: str, participants: slice) -> np.ndarray:
        """Every kept draw of ``name`` for the ``participants``, [D, p]."""
        return self._flat(name, 0, self.n_draws, participants)

    def _flat(self, name: str, start: int, stop: int, participants: slice) -> np.ndarray:
        """Flat draws ``start:stop`` of ``name`` [n, p] (the stored type), one read per
        chain they span."""
        per_chain = len(self.index)
        variable = self.posterior[name].transpose("chain", "draw", "participant")
        width = len(range(self.n_participants)[participants])
        out = np.empty((stop - start, width), dtype=variable.dtype)
        for chain in range(start // per_chain, -(-stop // per_chain)):
            lo = max(start - chain * per_chain, 0)
            hi = min(stop - chain * per_chain, per_chain)
            picked = variable.isel(chain=chain, draw=self.index[lo:hi], participant=participants)
            at = chain * per_chain + lo - start
            out[at : at + hi - lo] = picked.values
        return out


def as_draws(draws: Draws | Mapping[str, np.ndarray]) -> Draws:
    """``draws`` as :class:`Draws` (a mapping of [D, P] arrays is held in memory)."""
    return ArrayDraws(draws) if isinstance(draws, Mapping) else draws


def output_chunks(
    model: BehaviouralModel,
    data: TaskData,
    draws: Draws | Mapping[str, np.ndarray],
    names: Sequence[str] | None = None,
    budget: int = CELL_BUDGET,
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """:func:`cogfit.likelihood.trial_outputs` of every draw, a chunk of draws at a time.

    ``draws``: :class:`Draws` or a mapping of [D, P] arrays; ``names`` picks outputs
    (default all). Yields ``(draws slice, {name: [n, P, T, ...]})``. One jitted program
    serves every chunk: the last chunk is padded to the full length with copies of its last
    draw, then cut back.
    """
    import jax
    import jax.numpy as jnp

    draws = as_draws(draws)
    one = _one_draw(model, data.n_options, names)
    arrays = {k: jnp.asarray(v) for k, v in data.scan_inputs(model).items()}
    cells = _cells_per_draw(one, draws, arrays)
    length = chunk_length(draws.n_draws, cells, budget)
    compiled = jax.jit(jax.vmap(one, in_axes=(0, None)))
    for part in draw_chunks(draws.n_draws, cells, budget):
        n = part.stop - part.start
        chunk = {k: _padded(np.asarray(v), length) for k, v in draws.take(part).items()}
        out = compiled(chunk, arrays)
        yield part, {k: np.asarray(v)[:n] for k, v in out.items()}


def _one_draw(model: BehaviouralModel, n_options: int, names: Sequence[str] | None) -> Any:
    """``(params [P], trials) -> {name: [P, T, ...]}`` for one draw."""
    from cogfit.likelihood import trial_outputs

    def one(params, trials):  # noqa: ANN001, ANN202
        out = trial_outputs(model, params, trials, n_options)
        return out if names is None else {k: out[k] for k in names}

    return one


def _cells_per_draw(one: Any, draws: Draws, arrays: Mapping[str, Any]) -> int:
    """Output cells one draw produces (its shapes, traced without computing)."""
    import jax

    params = {k: jax.ShapeDtypeStruct((draws.n_participants,), np.float32) for k in draws.names}
    shapes = jax.eval_shape(one, params, arrays)
    return int(sum(np.prod(s.shape) for s in jax.tree.leaves(shapes)))


def _padded(x: np.ndarray, length: int) -> np.ndarray:
    """``x`` [n, ...] padded along its first axis to ``length`` by repeating its last row."""
    return np.pad(x, [(0, length - x.shape[0])] + [(0, 0)] * (x.ndim - 1), mode="edge")


def quantile_positions(n: int, q: float) -> tuple[int, int, float]:
    """Where ``np.quantile(x, q)`` (method ``linear``) of ``n`` values looks: the 0-based
    positions of the two order statistics it interpolates between, and the weight."""
    virtual = (n - 1) * np.float64(q)
    if virtual >= n - 1:  # the largest value (np.quantile takes it from both sides)
        return n - 1, n - 1, 0.0
    low = int(np.floor(virtual))
    return low, low + 1, float(virtual - low)


def linear_quantile(previous: np.ndarray, following: np.ndarray, gamma: float) -> np.ndarray:
    """The interpolation between two order statistics, in float64 and in the same
    operations as ``np.quantile``'s (method ``linear``), so results are bit-identical."""
    a = np.asarray(previous, dtype=np.float64)
    b = np.asarray(following, dtype=np.float64)
    weight = np.float64(gamma)
    if weight >= 0.5:
        return b - (b - a) * (1 - weight)
    return a + (b - a) * weight


def fit_precision(fit: Fit) -> str:
    """The floating-point precision the fit ran in (its analyses run in the same)."""
    return str(fit.idata.posterior.attrs.get("precision", "float32"))
