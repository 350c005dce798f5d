"""Where the chains start and the metric they start with: a short mean-field ADVI fit.

From a random start NUTS spends its first warm-up iterations (unit metric, far from the
posterior) on trajectories far longer than later ones, a large part of a fit's time. A
few hundred steps of mean-field ADVI (stochastic-gradient fit of a diagonal Gaussian in
the unconstrained space, one compiled program, one gradient per step) give a point near
the posterior bulk and a per-coordinate scale (iterates of the second half averaged,
which removes most of the noise of one-draw gradients). Each chain starts from its own
draw of that Gaussian with the scale doubled (over-dispersed, so R-hat can still see
chains that disagree) and NUTS starts from the inverse metric scale**2, not the
identity. Warm-up then adapts as usual; the draws still come only from NUTS. The same
idea as PyMC's ``init="advi+adapt_diag"``; also the helpers that estimate a dense or
mass-blocks metric from warm-up draws (:mod:`cogfit.sampling`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

LOG = logging.getLogger("cogfit.warmstart")


@dataclass(frozen=True)
class WarmStart:
    """Per-chain initial points (unconstrained, leading chain axis) and a diagonal
    inverse metric in NumPyro's flattening order."""

    init_params: dict[str, Any]
    inverse_mass_matrix: jnp.ndarray
    elbo: float
    seconds: float


def advi_start(
    model: Callable,
    model_args: tuple,
    point: dict[str, jnp.ndarray],
    rng_key: jnp.ndarray,
    chains: int,
    steps: int = 400,
    lr: float = 0.05,
    spread: float = 2.0,
    log: logging.Logger = LOG,
) -> WarmStart | None:
    """Fit a diagonal Gaussian to the posterior by ADVI; None (and a warning) if it fails.

    ``model_args`` are passed to the NumPyro ``model`` as in MCMC (arrays among them are
    traced, the rest static); ``point`` (unconstrained values of every sample site) is
    where the fit starts.
    """
    from numpyro.infer.util import potential_energy
    from numpyro.optim import Adam

    is_array = [isinstance(a, (np.ndarray, jnp.ndarray)) for a in model_args]
    arrays = [a for a, flag in zip(model_args, is_array, strict=True) if flag]

    def full_args(traced: list) -> tuple:
        it = iter(traced)
        return tuple(next(it) if flag else a for a, flag in zip(model_args, is_array, strict=True))

    @jax.jit
    def run(key: jnp.ndarray, traced: list) -> tuple:
        k_fit, k_draw = jax.random.split(key)
        args = full_args(traced)
        flat0, unravel = ravel_pytree(point)

        def neg_elbo(params: jnp.ndarray, noise: jnp.ndarray) -> jnp.ndarray:
            loc, log_scale = params[0], params[1]
            z = unravel(loc + jnp.exp(log_scale) * noise)
            return potential_energy(model, args, {}, z) - jnp.sum(log_scale)

        optimizer = Adam(lr)
        params = jnp.stack([flat0, jnp.full_like(flat0, jnp.log(0.1))])
        half = steps // 2

        def step(carry: tuple, xs: tuple) -> tuple:
            state, total = carry
            key, i = xs
            noise = jax.random.normal(key, flat0.shape, flat0.dtype)
            params = optimizer.get_params(state)
            loss, grad = jax.value_and_grad(neg_elbo)(params, noise)
            state = optimizer.update(grad, state)
            params = optimizer.get_params(state)
            total = total + jnp.where(i >= half, params, 0.0)  # second half only
            return (state, total), loss

        xs = (jax.random.split(k_fit, steps), jnp.arange(steps))
        carry = (optimizer.init(params), jnp.zeros_like(params))
        (_, total), losses = jax.lax.scan(step, carry, xs)
        # the average of the second half of the iterates: one-draw gradients are noisy
        params = total / (steps - half)
        loc, scale = params[0], jnp.exp(params[1])
        draws = loc + spread * scale * jax.random.normal(k_draw, (chains, flat0.size), flat0.dtype)
        return jax.vmap(unravel)(draws), scale**2, losses

    t0 = time.perf_counter()
    init_params, inverse_mass_matrix, losses = jax.block_until_ready(run(rng_key, arrays))
    seconds = time.perf_counter() - t0
    # the Gaussian's entropy constant, so the logged ELBO is the usual one
    entropy_const = 0.5 * inverse_mass_matrix.size * (1.0 + np.log(2 * np.pi))
    tail = float(np.mean(np.asarray(losses)[-max(steps // 10, 1) :])) - entropy_const
    finite = np.isfinite(tail) and bool(np.all(np.isfinite(np.asarray(inverse_mass_matrix))))
    finite = finite and all(bool(np.all(np.isfinite(np.asarray(v)))) for v in init_params.values())
    if not finite:
        log.warning("ADVI start failed (non-finite values); chains start at random points")
        return None
    log.info("ADVI start: %d steps in %.1f s, ELBO %.1f", steps, seconds, -tail)
    return WarmStart(init_params, inverse_mass_matrix, -tail, seconds)


def uniform_start(
    shapes: dict[str, tuple[int, ...]], dtype: Any, rng_key: jnp.ndarray, chains: int
) -> dict[str, np.ndarray]:
    """Per-chain start values uniform on [-1, 1] in the unconstrained space (NumPyro's
    ``init_to_uniform(radius=1)``), for when the ADVI start fails."""
    keys = jax.random.split(rng_key, len(shapes))
    return {
        name: np.asarray(jax.random.uniform(k, (chains, *shapes[name]), dtype, -1.0, 1.0))
        for name, k in zip(sorted(shapes), keys, strict=True)
    }


def chain_centred(draws: np.ndarray, chains: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws ``[chains * n, D]`` (chain-major), each chain centred on its own mean, and
    the per-coordinate variance pooled over chains (``chains`` degrees of freedom spent
    on the means)."""
    x = np.asarray(draws, np.float64)
    n, dim = x.shape
    per_chain = x.reshape(chains, n // chains, dim)
    x = (per_chain - per_chain.mean(axis=1, keepdims=True)).reshape(n, dim)
    return x, (x**2).sum(0) / (n - chains)


def diagonal_metric(draws: np.ndarray, chains: int) -> np.ndarray:
    """Per-coordinate variance of draws ``[chains * n, D]`` (each chain centred on its
    mean), shrunk towards 1e-3 for few draws as Stan's and NumPyro's windowed
    adaptation do; as a diagonal matrix for a dense mass block."""
    n = len(draws)
    _, var = chain_centred(draws, chains)
    return np.diag((n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0)))


def spiked_covariance(draws: np.ndarray, chains: int = 1) -> np.ndarray:
    """Covariance of warm-up draws ``[chains * n, D]`` (chain-major) with noise removed.

    In the non-centred model a group mean and its participants' offsets share a ridge
    (with informative data, moving the mean moves every offset the opposite way); a
    diagonal metric cannot follow it. The draws' correlation matrix shows the ridge as
    eigenvalues far from 1, while the eigenvalues of mere sampling noise fill the
    Marchenko-Pastur band ``[(1 - sqrt(D/n))**2, (1 + sqrt(D/n))**2]``. Eigenvalues in
    that band are set to 1 and those outside it mapped back to the population values
    that would show up there (noise pushes them outwards): the ridge stays, noise does
    not set the step size. Each chain is centred on its own mean.
    """
    x, var = chain_centred(draws, chains)
    n, dim = x.shape
    sd = np.sqrt(var)
    sd = np.where(sd > 0, sd, 1.0)
    z = x / sd
    corr = z.T @ z / (n - chains)
    eigval, eigvec = np.linalg.eigh(corr)
    q = dim / (n - chains)
    low, high = (1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2
    # a population eigenvalue l shows up as l + q * l / (l - 1): invert that for the spikes
    b = eigval + 1 - q
    root = np.sqrt(np.maximum(b**2 - 4 * eigval, 0.0))
    spikes = np.where(eigval > high, (b + root) / 2, (b - root) / 2)
    eigval = np.where((eigval < low) | (eigval > high), spikes, 1.0)
    eigval = np.maximum(eigval, 1e-4)
    return (eigvec * eigval) @ eigvec.T * np.outer(sd, sd)
