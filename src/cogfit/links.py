"""Link functions: unconstrained real line -> a parameter's natural support.

Each link is a pure ``jnp`` function so it can sit inside the NumPyro model, and a plain
NumPy twin is not needed: tests compare against closed forms written independently.
The names and :func:`check_link` need no JAX (config checks run where Snakemake parses
the workflow); JAX is imported when a link function is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cogfit.errors import ConfigError

Array = Any  # a jax.Array; JAX is not imported here

LINKS: dict[str, str] = {
    "probit": "Phi(x): (0, 1); the hBayesDM convention for rates",
    "logistic": "1 / (1 + exp(-x)): (0, 1)",
    "scaled_probit": "upper * Phi(x): (0, upper); bounded positive parameters",
    "softplus": "log(1 + exp(x)): (0, inf)",
    "exp": "exp(x): (0, inf)",
    "identity": "x: the real line",
}


#: each link's range, as a table of models prints it (``upper``: scaled_probit's bound)
RANGES: dict[str, str] = {
    "probit": "(0, 1)",
    "logistic": "(0, 1)",
    "scaled_probit": "(0, {upper:g})",
    "softplus": "(0, ∞)",
    "exp": "(0, ∞)",
    "identity": "(−∞, ∞)",
}


def link_range(name: str, upper: float | None = None) -> str:
    """The range of link ``name`` (with its ``upper`` bound) as text, e.g. ``(0, 20)``."""
    check_link(name, upper)
    return RANGES[name].format(upper=upper or 0.0)


def check_link(name: str, upper: float | None = None) -> None:
    """A ConfigError unless ``name`` is a link and ``upper`` fits it (only scaled_probit
    takes one, and needs it positive)."""
    if name not in LINKS:
        raise ConfigError(f"unknown link {name!r}; expected one of {sorted(LINKS)}")
    if name == "scaled_probit" and (upper is None or upper <= 0):
        raise ConfigError(f"link 'scaled_probit' needs a positive 'upper', got {upper!r}")


def probit(x: Array) -> Array:
    """Phi(x), the standard normal CDF, as one ``erfc``.

    ``jax.scipy.special.ndtr`` evaluates ``erf`` and ``erfc`` and selects between them;
    XLA expands each into a long polynomial, so every copy of the model in a compiled
    NUTS program would carry both, and compile slower. One ``erfc`` of ``-x / sqrt(2)``
    is the same approximation, equally accurate in both tails (XLA's ``erfc`` is
    ``1 - erf`` near 0 and reflects negative arguments).
    """
    from jax import lax

    return 0.5 * lax.erfc(-x * 0.5**0.5)


def get_link(name: str, upper: float | None = None) -> Callable[[Array], Array]:
    """Return the link function called ``name``; ``upper`` only for scaled_probit."""
    import jax.numpy as jnp

    check_link(name, upper)
    if name == "probit":
        return probit
    if name == "logistic":
        return lambda x: 1.0 / (1.0 + jnp.exp(-x))
    if name == "scaled_probit":
        return lambda x: upper * probit(x)
    if name == "softplus":
        return lambda x: jnp.logaddexp(x, 0.0)
    if name == "exp":
        return jnp.exp
    return lambda x: x  # identity
