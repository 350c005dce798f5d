"""Link functions: unconstrained real line -> a parameter's natural support.

Each link is a pure ``jnp`` function so it can sit inside the NumPyro model, and a plain
NumPy twin is not needed: tests compare against closed forms written independently.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
from jax.scipy.special import ndtr

from cogfit.errors import ConfigError

Array = jnp.ndarray

LINKS: dict[str, str] = {
    "probit": "Phi(x): (0, 1); the hBayesDM convention for rates",
    "logistic": "1 / (1 + exp(-x)): (0, 1)",
    "scaled_probit": "upper * Phi(x): (0, upper); bounded positive parameters",
    "softplus": "log(1 + exp(x)): (0, inf)",
    "exp": "exp(x): (0, inf)",
    "identity": "x: the real line",
}


def get_link(name: str, upper: float | None = None) -> Callable[[Array], Array]:
    """Return the link function called ``name``; ``upper`` only for scaled_probit."""
    if name == "probit":
        return ndtr
    if name == "logistic":
        return lambda x: 1.0 / (1.0 + jnp.exp(-x))
    if name == "scaled_probit":
        if upper is None or upper <= 0:
            raise ConfigError(f"link 'scaled_probit' needs a positive 'upper', got {upper!r}")
        return lambda x: upper * ndtr(x)
    if name == "softplus":
        return lambda x: jnp.logaddexp(x, 0.0)
    if name == "exp":
        return jnp.exp
    if name == "identity":
        return lambda x: x
    raise ConfigError(f"unknown link {name!r}; expected one of {sorted(LINKS)}")
