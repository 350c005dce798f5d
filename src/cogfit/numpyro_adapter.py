"""Every use of NumPyro's private attributes and internal state layouts, in one place.

Supported NumPyro: ``>=0.18,<0.23`` (:data:`SUPPORTED`, as pyproject.toml pins it).

cogfit drives NumPyro's NUTS kernel itself (:mod:`cogfit.segments`) rather than through
``MCMC``, so it needs a few things NumPyro does not promise to keep: the kernel's start
metric attribute, the fields of its state and adaptation state (``HMCState``,
``HMCAdaptState``), the tuple layout of the dual-averaging state and the factors of a
dense metric. tests/test_numpyro_adapter.py checks each of them against the installed
NumPyro, so an upgrade that changes one fails there, by name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

#: the NumPyro versions whose internals this module is written for
SUPPORTED = ">=0.18,<0.23"
#: ``HMCState`` fields read or replaced here (``i``: the iteration counter)
STATE_FIELDS = ("i", "adapt_state")
#: ``numpyro.infer.hmc_util.HMCAdaptState``, in order
ADAPT_STATE_FIELDS = (
    "step_size",
    "inverse_mass_matrix",
    "mass_matrix_sqrt",
    "mass_matrix_sqrt_inv",
    "ss_state",
    "mm_state",
    "window_idx",
    "rng_key",
)
#: the dual-averaging state (a plain tuple: ``hmc_util.dual_averaging``'s ``init_fn``)
DUAL_AVERAGING_FIELDS = ("x_t", "x_avg", "g_avg", "t", "prox_center")


@contextlib.contextmanager
def start_metric(kernel: Any, inverse_mass_matrix: Any) -> Iterator[None]:
    """Within the ``with`` statement, ``kernel.init`` starts the chains with ``inverse_mass_matrix``
    (NumPyro's form; None: the kernel's own); the kernel's own is restored after.

    The kernel reads its start metric from a private attribute when ``init`` runs, so a
    traced metric makes one start program serve any start metric."""
    own = kernel._inverse_mass_matrix
    if inverse_mass_matrix is not None:
        kernel._inverse_mass_matrix = inverse_mass_matrix
    try:
        yield
    finally:
        kernel._inverse_mass_matrix = own


def field_getter(*fields: str) -> Callable[[Any], tuple]:
    """``state -> (values...)`` of dotted ``fields`` of a kernel state, as ``MCMC`` reads
    its ``extra_fields`` (e.g. ``adapt_state.step_size``)."""
    from numpyro.util import nested_attrgetter

    return nested_attrgetter(*fields)


def iteration(state: Any) -> Any:
    """A NUTS state's iteration counter (one per chain when chains are vectorised)."""
    return state.i


def adapt_state(state: Any) -> Any:
    """A NUTS state's adaptation state (``HMCAdaptState``)."""
    return state.adapt_state


def with_adapt_state(state: Any, adapt: Any) -> Any:
    """``state`` with its adaptation state replaced by ``adapt``."""
    return state._replace(adapt_state=adapt)


def mass_matrix_factors(inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inverse metric, metric square root, its inverse) of a dense mass block, as NumPyro's
    ``_initialize_mass_matrix`` computes them inside its programs (``sqrt_inv``: the
    transposed Cholesky factor of the reversed matrix, lower triangular; ``sqrt``: its
    inverse), computed here on the host so changing the metric compiles nothing."""
    sqrt_inv = np.linalg.cholesky(inverse[::-1, ::-1])[::-1, ::-1].T
    sqrt = np.linalg.inv(sqrt_inv)
    return inverse, sqrt, sqrt_inv


def restarted_dual_averaging(adapt: Any) -> tuple:
    """The dual-averaging state NumPyro starts a step-size window with, from the
    current step size: everything 0, prox centre ``log(10 * step size)``."""
    x, x_avg, g_avg, t, _ = adapt.ss_state
    step = np.asarray(adapt.step_size)
    return (
        np.zeros_like(x),
        np.zeros_like(x_avg),
        np.zeros_like(g_avg),
        np.zeros_like(t),
        np.log(10 * step).astype(step.dtype),
    )


def with_dense_metric(
    adapt: Any, mass_blocks: Mapping[tuple[str, ...], np.ndarray], chains: int
) -> Any:
    """``adapt`` (chains stacked on a leading axis) with the dense inverse metric
    ``mass_blocks`` (one matrix per mass block of sites named in ``dense_mass``; other mass
    blocks keep theirs, as do sites in no mass block) and step-size adaptation restarted
    from the current step size, as NumPyro does when its own windows change the metric.
    Host arrays."""
    inverse, sqrt, sqrt_inv = (
        dict(adapt.inverse_mass_matrix),
        dict(adapt.mass_matrix_sqrt),
        dict(adapt.mass_matrix_sqrt_inv),
    )
    for sites, matrix in mass_blocks.items():  # cast to the state's precision when placed
        m, m_sqrt, m_sqrt_inv = mass_matrix_factors(np.asarray(matrix, np.float64))
        for out, value in ((inverse, m), (sqrt, m_sqrt), (sqrt_inv, m_sqrt_inv)):
            out[sites] = np.broadcast_to(value, (chains, *value.shape))
    return adapt._replace(
        inverse_mass_matrix=inverse,
        mass_matrix_sqrt=sqrt,
        mass_matrix_sqrt_inv=sqrt_inv,
        ss_state=restarted_dual_averaging(adapt),
    )
