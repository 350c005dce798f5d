"""The metric plan: which inverse metric NUTS uses, and the warm-up that estimates it.

A diagonal metric is adapted by NumPyro. A dense metric (one mass block of every sample
site) or a mass-blocks metric (one mass block per parameter: its group means, sds and
offsets) is estimated from warm-up draws on the host (:mod:`cogfit.sampling`); this module
decides which, names the mass blocks' coordinates and lays out the warm-up windows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cogfit.fit import SamplerSettings
    from cogfit.models import BehaviouralModel

LOG = logging.getLogger("cogfit.metric")
#: metric auto is dense when the diagonal warm-up keeps this many draws per coordinate of
#: the whole model (``dense``) or else of one parameter's mass block (``mass_blocks``)
DENSE_DRAWS_PER_DIM = 2
#: above this many coordinates per mass block a dense metric (D x D per leapfrog step, an
#: eigendecomposition of D x D) costs more than any gain: diagonal, even when asked
DENSE_MAX_DIM = 4000


@dataclass(frozen=True)
class MetricPlan:
    """Which metric NUTS uses: ``diag``, or dense ``mass_blocks`` of sample sites (one
    mass block of every site for ``dense``; a parameter's mean, sd and offsets for
    ``mass_blocks``) estimated from a diagonal warm-up and fixed for the last
    ``dense_warmup`` iterations."""

    kind: str
    mass_blocks: tuple[tuple[str, ...], ...] = ()
    dense_warmup: int = 0
    mass_block_dim: int = 0  # coordinates per mass block


def plan_metric(
    settings: SamplerSettings,
    model: BehaviouralModel,
    n_participants: int,
    n_groups: int,
    log: logging.Logger = LOG,
) -> MetricPlan:
    """Choose the metric (``sampler.metric``) for a model and data size.

    The dense metric is estimated from the second half of the first three quarters of
    warm-up (:func:`warmup_windows`) and kept fixed while the last quarter adapts the
    step size. It costs a D x D product per leapfrog step (one per mass block), and needs
    enough draws: ``auto`` takes ``dense`` when the kept draws number
    ``DENSE_DRAWS_PER_DIM`` per coordinate, else ``mass_blocks`` when they do per
    coordinate of one parameter's mass block, else ``diag``.
    """
    from cogfit.names import site_names

    per_param = tuple(
        tuple(sorted(site_names(spec.name)[k] for k in ("mu", "sigma", "offset")))
        for spec in model.params
    )
    mass_block_dim = 2 * n_groups + n_participants
    dims = {"dense": mass_block_dim * len(per_param), "mass_blocks": mass_block_dim}
    mass_blocks = {"dense": (tuple(sorted(sum(per_param, ()))),), "mass_blocks": per_param}
    dense = settings.warmup // 4
    draws = settings.chains * ((settings.warmup - dense) // 2)
    kind = settings.metric
    if kind == "auto":
        fits = [k for k in ("dense", "mass_blocks") if draws >= DENSE_DRAWS_PER_DIM * dims[k]]
        kind = fits[0] if fits else "diag"
    if kind == "diag" or dense < 1 or draws < 2 * settings.chains:
        return MetricPlan("diag")
    if dims[kind] > DENSE_MAX_DIM:
        log.warning(
            "metric %s: mass blocks of %d coordinates exceed %d; using a diagonal metric",
            kind,
            dims[kind],
            DENSE_MAX_DIM,
        )
        return MetricPlan("diag")
    if draws < dims[kind]:
        log.warning(
            "metric %s: %d warm-up draws for mass blocks of %d coordinates; the estimate keeps "
            "only the strongest correlations (more warm-up or chains would help)",
            kind,
            draws,
            dims[kind],
        )
    return MetricPlan(kind, mass_blocks[kind], dense, dims[kind])


def warmup_windows(warmup: int, plan: MetricPlan) -> tuple[int, int, int]:
    """``(quarter, half, first)`` of a dense or mass-blocks metric's warm-up: the first
    ``first`` iterations estimate the metric, a diagonal from iterations quarter-half and
    the dense mass blocks from half-first; the remaining ``plan.dense_warmup`` adapt the step
    size."""
    first = warmup - plan.dense_warmup
    return first // 4, first // 2, first


def mass_block_coordinates(
    shapes: Mapping[str, tuple[int, ...]], mass_blocks: tuple[tuple[str, ...], ...]
) -> dict[tuple[str, ...], np.ndarray]:
    """Each mass block's coordinates in NumPyro's flat vector of all sample sites (sites
    in name order, raveled; :data:`WarmStart.inverse_mass_matrix` is in that order). Within
    a mass block, coordinates follow its sites in the order named, as NumPyro's
    ``dense_mass``."""
    offsets, at = {}, 0
    for name in sorted(shapes):
        size = int(np.prod(shapes[name], dtype=np.int64))
        offsets[name] = np.arange(at, at + size)
        at += size
    return {sites: np.concatenate([offsets[name] for name in sites]) for sites in mass_blocks}


def mass_block_draws(draws: Mapping[str, np.ndarray], sites: tuple[str, ...]) -> np.ndarray:
    """A mass block's draws ``[chains * n, D]`` (chain-major) from unconstrained draws
    with leaves ``[chains, n, ...]``, its coordinates in NumPyro's order; ``sites``: the
    mass block's sample sites."""
    parts = [np.asarray(draws[name]) for name in sites]
    chains, n = parts[0].shape[:2]
    return np.concatenate([p.reshape(chains, n, -1) for p in parts], axis=-1).reshape(
        chains * n, -1
    )
