"""Each participant's likelihood integrated over their offsets, per draw of the group
parameters: the pointwise quantity of model comparison for NEW participants.

The per-participant log-likelihood in ``posterior.nc`` is conditional on the
participant's own parameters, so leaving a participant out of it changes the posterior
too much for PSIS-LOO (most Pareto k above 0.7). For each draw ``phi_s`` of the group
means and sds this module estimates instead

    p(y_i | phi_s) = ∫ p(y_i | link(x)) N(x; mu_s[g_i], diag sigma_s[g_i]^2) dx

(``x = mu + z sigma``: the participant's unconstrained parameters), the marginal
likelihood whose PSIS-LOO over participants is well behaved (Merkle, Furr &
Rabe-Hesketh 2019, Psychometrika 84:802-829; Vehtari, Gelman & Gabry 2017, Stat. Comput.
27:1413-1432).

The integral is estimated by importance sampling in ``x`` with samples that every draw
shares: the likelihood, the expensive part (a scan over the trials), is evaluated once
per sample, not once per sample and draw, and each draw reweights the same samples by its
population density (common random numbers, so the estimate varies smoothly from draw to
draw). The proposal is a mixture sampled in fixed proportions (deterministic mixture
weights: Owen & Zhou 2000, JASA 95:135-143; Veach & Guibas 1995, SIGGRAPH 419-428) of

- per draw, two components, each spread evenly over the samples: a Gaussian, the
  posterior of ``x`` under that draw's population and a quadratic approximation of the
  log-likelihood (taken from the participant's posterior in a fit by dividing its
  population out), and the draw's population itself, which covers where that
  approximation is off. A draw whose group sd is near 0, where the integrand is a thin
  slice no proposal fixed across draws reaches, so has samples of its own; and
- a multivariate t (:data:`PROPOSAL_DOF`) at the mean and covariance of the participant's
  ``x`` in the fit: its heavy tails bound every weight (Hesterberg 1995, Technometrics
  37:185-194).

Without a fit the likelihood is taken as flat (each draw's component is its population)
and the t is the population averaged over draws: valid, with a lower ESS. Participants
held out of a K-fold refit take their proposal from the fit of all participants: the
estimate's expectation does not depend on the proposal, only its variance does. The Kish
effective sample size of each draw's weights is reported per participant (a low quantile
over draws).

Memory: chunks of participants bound the likelihood evaluations and chunks of draws the
reweighting; the one array with a row per draw is the output, the log-likelihood
[draws, participants] (float64). The ESS quantile keeps only each participant's smallest
ESS values over draws, as many as the quantile's order statistics need (5% of the draws,
plus two).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln

from cogfit import fitted
from cogfit.chunks import CELL_BUDGET, chunk_length, draw_chunks
from cogfit.data import TaskData, task_data_from_trials
from cogfit.errors import DataError
from cogfit.io import write_netcdf
from cogfit.likelihood import participant_log_lik
from cogfit.links import get_link
from cogfit.models.base import Array, BehaviouralModel
from cogfit.names import OBSERVED, site_name
from cogfit.settings import settings_from_section
from cogfit.trialwise import linear_quantile, quantile_positions

LOG = logging.getLogger("cogfit.marginal")

#: degrees of freedom of the proposal's t component: heavier tails than the fit's
#: posterior of ``x``, whose covariance it takes as its scale matrix (an integer: its
#: chi-square variates are sums of squared normals)
PROPOSAL_DOF = 4
#: shares of the samples drawn from the t component (the defensive one) and from the
#: draws' populations; the rest come from the draws' Gaussian components. Both kinds of
#: per-draw component are spread evenly over the draws
T_SHARE = 0.25
POPULATION_SHARE = 0.25
#: draws of a fit (evenly spaced within chains) the proposal's moments are taken from
PROPOSAL_DRAWS = 400
#: a small ridge on the proposal's covariance, so a participant whose draws barely move
#: still gets a proper density
PROPOSAL_RIDGE = 1e-6
#: the ESS reported per participant is this quantile over draws: a few draws with poor
#: weights hardly move the mean over draws that LOO takes, most of them would
ESS_QUANTILE = 0.05
#: an importance-sampling ESS below this share of the samples is warned about
LOW_ESS_SHARE = 0.1


@dataclass(frozen=True)
class CompareSettings:
    """Model comparison settings: the config's ``compare`` section, one field per key
    (meanings, limits and defaults are the schema's; a test keeps the defaults equal)."""

    method: str = "psis"
    folds: int = 10
    draws: int = 500
    importance_samples: int = 4000

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> CompareSettings:
        """From the config's ``compare`` mapping, checked against its schema."""
        return settings_from_section(cls, "compare", cfg)


class Proposal(NamedTuple):
    """Each participant's proposal ingredients in their unconstrained parameters ``x``:
    the t component's location and scale (Cholesky factor), and a quadratic approximation
    of the log-likelihood, ``log L(x) ~ shift'x - x' curvature x / 2 + const``, that each
    draw's Gaussian component combines with the draw's population."""

    mean: np.ndarray  # [P, D]
    chol: np.ndarray  # [P, D, D], lower triangular
    curvature: np.ndarray  # [P, D, D], positive semi-definite
    shift: np.ndarray  # [P, D]


# --- the proposal ----------------------------------------------------------------------


def flat_draws(draws: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Draws [chain, draw, ...] with the chains joined: [chain * draw, last axis]."""
    return {k: v.reshape(-1, v.shape[-1]) for k, v in draws.items()}


def participant_values(
    mu: np.ndarray, sigma: np.ndarray, offset: np.ndarray, group_index: np.ndarray
) -> np.ndarray:
    """Each participant's unconstrained parameters ``mu[g] + offset * sigma[g]``, [N, P,
    D], from draws of ``mu``, ``sigma`` [N, D, G] and ``offset`` [N, D, P]."""
    values = mu[:, :, group_index] + offset * sigma[:, :, group_index]
    return np.moveaxis(values, 1, 2).astype(float)


def fit_proposal(fit: fitted.Fit, keep: int = PROPOSAL_DRAWS) -> Proposal:
    """The proposal of each of ``fit``'s participants (:func:`proposal_from_values`), from
    ``keep`` of its draws, read once: their ``x`` and the population they were fitted
    under (:func:`population`)."""
    names = [site_name(p, r) for p in fit.model.param_names for r in ("mu", "sigma", "offset")]
    draws = flat_draws(fitted.thinned(fit, names, keep))
    mu, sigma, offset = (_stacked(fit.model, draws, r) for r in ("mu", "sigma", "offset"))
    group = fit.data.group_index
    return proposal_from_values(
        participant_values(mu, sigma, offset, group), *population(mu, sigma, group)
    )


def proposal_from_values(x: np.ndarray, pop_mean: np.ndarray, pop_sd: np.ndarray) -> Proposal:
    """The proposal of each participant from draws of their ``x`` [N, P, D] and the
    population their posterior was fitted under, N(pop_mean, diag pop_sd^2) [P, D].

    The t component takes the draws' mean ``m`` and covariance ``C`` (plus
    :data:`PROPOSAL_RIDGE`). The likelihood's approximation divides the population out of
    ``N(m, C)``: curvature ``H = C^-1 - L`` (``L = diag pop_sd^-2``; eigenvalues clamped
    at 0, where the data say less than the population) and shift ``H m + L (m -
    pop_mean)`` projected onto where ``H`` is positive.
    """
    mean = x.mean(axis=0)
    centred = x - mean
    cov = np.einsum("npd,npe->pde", centred, centred) / max(1, x.shape[0] - 1)
    cov += PROPOSAL_RIDGE * np.eye(x.shape[-1])
    prior = 1.0 / pop_sd**2
    values, vectors = np.linalg.eigh(np.linalg.inv(cov) - prior[..., None] * np.eye(x.shape[-1]))
    positive = values > 0
    curvature = np.einsum("pde,pe,pfe->pdf", vectors, np.where(positive, values, 0.0), vectors)
    projector = np.einsum("pde,pe,pfe->pdf", vectors, positive.astype(float), vectors)
    shift = np.einsum("pde,pe->pd", curvature, mean)
    shift += np.einsum("pde,pe->pd", projector, prior * (mean - pop_mean))
    return Proposal(mean, np.linalg.cholesky(cov), curvature, shift)


def population(
    mu: np.ndarray, sigma: np.ndarray, group_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The population averaged over draws of ``mu``, ``sigma`` [S, D, G], per participant
    [P, D]: mean ``E[mu]`` and sd ``sqrt(E[sigma^2] + Var[mu])``."""
    mean = mu.mean(axis=0)
    sd = np.sqrt(np.mean(sigma**2, axis=0) + mu.var(axis=0))
    return mean.T[group_index], sd.T[group_index]


def flat_proposal(mean: np.ndarray, sd: np.ndarray) -> Proposal:
    """A proposal that knows nothing of the data: the t component at N(mean, diag sd^2)
    [P, D] and a flat likelihood (each draw's component is then its population)."""
    dim = mean.shape[-1]
    chol = sd[..., None] * np.eye(dim)
    return Proposal(mean, chol, np.zeros_like(chol), np.zeros_like(mean))


def component_draws(n_draws: int, n_samples: int) -> np.ndarray:
    """The draw whose component each of ``n_samples`` samples comes from: the draws in
    order, spread evenly, so each gets ``n_samples / n_draws`` of them (rounded)."""
    return np.arange(n_samples) * n_draws // n_samples


# --- the likelihood at every importance sample ------------------------------------------


def _link_fn(model: BehaviouralModel) -> Callable[[Array], dict[str, Array]]:
    """Unconstrained values [..., D] -> {name: natural-scale value [...]}."""
    links = [get_link(s.link, s.upper) for s in model.params]
    pairs = list(zip(model.param_names, links, strict=True))
    return lambda x: {name: link(x[..., d]) for d, (name, link) in enumerate(pairs)}


def _log_t(x: Array, proposal: Proposal) -> Array:
    """log density [M, P] of each participant's t component at ``x`` [M, P, D]."""
    dof, dim = PROPOSAL_DOF, x.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(dim), proposal.chol.shape)
    inverse = solve_triangular(proposal.chol, eye, lower=True)  # [P, D, D]
    rotated = jnp.einsum("pde,mpe->mpd", inverse, x - proposal.mean)
    log_det = jnp.sum(jnp.log(jnp.diagonal(proposal.chol, axis1=-2, axis2=-1)), axis=-1)
    norm = gammaln((dof + dim) / 2) - gammaln(dof / 2) - 0.5 * dim * math.log(dof * math.pi)
    return norm - log_det - 0.5 * (dof + dim) * jnp.log1p(jnp.sum(rotated**2, -1) / dof)


def _per_participant(draws: Array, group_index: Array) -> Array:
    """[S, D, G] group values -> [S, P, D], each participant's group's."""
    return jnp.moveaxis(draws[:, :, group_index], 1, 2)


class Components(NamedTuple):
    """Each draw's Gaussian component per participant: the posterior of ``x`` under the
    draw's population and the likelihood's approximation."""

    mean: Array  # [S, P, D]
    chol: Array  # [S, P, D, D]: lower Cholesky factor of the precision


def _components(mu: Array, sigma: Array, group_index: Array, proposal: Proposal) -> Components:
    """Precision ``curvature + diag sigma_s^-2`` and mean ``precision^-1 (shift + mu_s /
    sigma_s^2)`` of every draw of ``mu``, ``sigma`` [S, D, G]."""
    prior = _per_participant(sigma, group_index) ** -2.0  # [S, P, D]
    precision = proposal.curvature + prior[..., None] * jnp.eye(prior.shape[-1])
    chol = jnp.linalg.cholesky(precision)
    rhs = proposal.shift + _per_participant(mu, group_index) * prior
    mean = jax.scipy.linalg.cho_solve((chol, True), rhs[..., None])[..., 0]
    return Components(mean, chol)


def _log_population(mu: Array, sigma: Array, group_index: Array, x: Array) -> Array:
    """log N(x_m; mu_s[g], diag sigma_s[g]^2) [S, M, P] of every draw ``s`` of ``mu``,
    ``sigma`` [S, D, G] at every sample ``x`` [M, P, D]."""
    mu_p = _per_participant(mu, group_index)[:, None]  # [S, 1, P, D]
    sigma_p = _per_participant(sigma, group_index)[:, None]
    z = (x[None] - mu_p) / sigma_p
    log_density = -0.5 * jnp.sum(z * z, -1) - jnp.sum(jnp.log(sigma_p), -1)
    return log_density - 0.5 * x.shape[-1] * math.log(2 * math.pi)


def variates(
    seed: int, index: np.ndarray, n_samples: int, n_t: int, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Standard normals [M, P, D] and the t component's radii ``sqrt(dof / chi2)`` [M_t,
    P] of the participants ``index`` [P], from a generator seeded by ``(seed, index)``,
    so chunks of participants do not change them. NumPy, not JAX: JAX's gamma and
    per-key normals take longer to compile than they take to run here."""
    dof = PROPOSAL_DOF
    normal = np.empty((n_samples, index.size, dim))
    chi2 = np.empty((n_t, index.size))
    for column, i in enumerate(index):
        rng = np.random.default_rng([seed, int(i)])
        normal[:, column] = rng.standard_normal((n_samples, dim))
        chi2[:, column] = np.sum(rng.standard_normal((n_t, dof)) ** 2, axis=1)
    return normal, np.sqrt(dof / chi2)


@functools.lru_cache(maxsize=8)  # one compiled program per model and shapes
def _sample_fn(model: BehaviouralModel, n_options: int) -> Callable[..., tuple]:
    """Jitted ``(normal [M, P, D], radius [M_t, P], proposal, gaussian, population,
    group_index [P], trials) -> (x [M, P, D], log L(x) [M, P], log t(x)
    [M, P])``: the first ``M_t`` samples from each participant's t component, then one from
    the Gaussian component of each of the ``M_g`` draws ``gaussian`` (``(mu, sigma)``,
    each [M_g, D, G]), then one from the population of each of the draws ``population``."""
    to_theta = _link_fn(model)

    def log_lik(x: Array, trials: dict[str, Array]) -> Array:
        """log L [M, P] at every sample: the likelihood's own scan, over the M x P pairs of
        sample and participant (each participant's trials repeated for its samples)."""
        n_m = x.shape[0]
        theta = {k: v.reshape(-1) for k, v in to_theta(x).items()}
        tiled = {
            k: jnp.broadcast_to(a, (n_m, *a.shape)).reshape(-1, a.shape[-1])
            for k, a in trials.items()
        }
        return participant_log_lik(model, theta, tiled, n_options).reshape(n_m, -1)

    def sample(normal, radius, proposal, gaussian, population, group_index, trials):  # noqa: ANN001, ANN202
        n_t, n_g = radius.shape[0], gaussian[0].shape[0]
        t_eps = normal[:n_t] * radius[..., None]
        t_x = proposal.mean + jnp.einsum("pde,mpe->mpd", proposal.chol, t_eps)
        comp = _components(*gaussian, group_index, proposal)
        # x = mean + L^-T eps has precision L L'
        g_eps = normal[n_t : n_t + n_g, :, :, None]
        g_x = comp.mean + solve_triangular(comp.chol, g_eps, lower=True, trans=1)[..., 0]
        mu, sigma = (_per_participant(a, group_index) for a in population)
        x = jnp.concatenate([t_x, g_x, mu + sigma * normal[n_t + n_g :]])
        ll = log_lik(x, trials)
        return x, jnp.where(jnp.isnan(ll), -jnp.inf, ll), _log_t(x, proposal)

    return jax.jit(sample)


def _squared_norm(chol: Array, diff: Array) -> Array:
    """``|L' diff|^2`` over the last axis, ``L`` lower triangular [..., D, D]: written out
    term by term, which XLA fuses into one loop (a batched product of D x D matrices with
    D of a few is several times slower)."""
    total = jnp.zeros(diff.shape[:-1], diff.dtype)
    for e in range(diff.shape[-1]):
        column = sum(diff[..., d] * chol[..., d, e] for d in range(e, diff.shape[-1]))
        total = total + column * column
    return total


@jax.jit
def _component_mixture(
    mu: Array, sigma: Array, log_counts: Array, group_index: Array, proposal: Proposal, x: Array
) -> Array:
    """log sum_s (g_s N(x_m; component_s) + p_s N(x_m; population_s)) [M, P] over the
    draws of one chunk; ``log_counts`` [2, S] are log g_s and log p_s, the samples each
    draw's Gaussian component and population gave (-inf for none, and for padding)."""
    comp = _components(mu, sigma, group_index, proposal)
    quadratic = _squared_norm(comp.chol[:, None], x[None] - comp.mean[:, None])  # [S, M, P]
    log_det = jnp.sum(jnp.log(jnp.diagonal(comp.chol, axis1=-2, axis2=-1)), axis=-1)
    log_gaussian = log_det[:, None] - 0.5 * quadratic - 0.5 * x.shape[-1] * math.log(2 * math.pi)
    log_population = _log_population(mu, sigma, group_index, x)
    return jnp.logaddexp(
        jax.nn.logsumexp(log_gaussian + log_counts[0, :, None, None], axis=0),
        jax.nn.logsumexp(log_population + log_counts[1, :, None, None], axis=0),
    )


@jax.jit
def _reweigh(mu: Array, sigma: Array, group_index: Array, x: Array, log_r: Array) -> tuple:
    """``(mu [S, D, G], sigma [S, D, G], group_index [P], x [M, P, D], log_r = log L(x) -
    log q(x) [M, P]) -> (log p_hat [S, P], Kish ESS [S, P])``: each draw's estimate from
    the shared samples."""
    log_w = _log_population(mu, sigma, group_index, x) + log_r[None]
    log_p = jax.nn.logsumexp(log_w, axis=1) - math.log(x.shape[0])
    weights = jax.nn.softmax(log_w, axis=1)
    return log_p, 1.0 / jnp.sum(weights**2, axis=1)


def _pad(x: Any, length: int, axis: int = 0, fill: float | None = None) -> np.ndarray:
    """``x`` padded along ``axis`` to ``length`` by repeating its last entry (or with
    ``fill``)."""
    x = np.asarray(x)
    last = np.take(x, [-1], axis=axis)
    if fill is not None:
        last = np.full_like(last, fill)
    return np.concatenate([x, np.repeat(last, length - x.shape[axis], axis=axis)], axis=axis)


def _stacked(model: BehaviouralModel, draws: Mapping[str, np.ndarray], role: str) -> np.ndarray:
    """``{p}_{role}`` draws [S, G] (or [S, P]) of every parameter stacked to [S, D, G]."""
    return np.stack([np.asarray(draws[site_name(p, role)]) for p in model.param_names], axis=1)


def _check_draws(model: BehaviouralModel, data: TaskData, draws: Mapping[str, np.ndarray]) -> int:
    """The number of draws; a missing or misshapen group variable is a DataError."""
    shapes = set()
    for param in model.param_names:
        for role in ("mu", "sigma"):
            name = site_name(param, role)
            if name not in draws:
                raise DataError(f"group draws lack {name!r} of model {model.name!r}")
            shape = np.shape(draws[name])
            if len(shape) != 2 or shape[1] != data.n_groups:
                raise DataError(
                    f"group draws {name!r}: shape {shape}, expected [draws, {data.n_groups}]"
                )
            shapes.add(shape)
    if len(shapes) != 1:
        raise DataError(f"group draws of model {model.name!r} differ in shape: {sorted(shapes)}")
    return shapes.pop()[0]


def _check_proposal(model: BehaviouralModel, data: TaskData, proposal: Proposal) -> None:
    """A proposal must have one row per participant and parameter."""
    vector = (data.n_participants, len(model.params))
    matrix = vector + vector[1:]
    shapes = [np.shape(a) for a in proposal]
    if shapes != [vector, matrix, matrix, vector]:
        raise DataError(
            f"proposal of model {model.name!r}: shapes {shapes}, expected "
            f"{[vector, matrix, matrix, vector]} (mean, chol, curvature, shift)"
        )


def _take(x: Any, part: slice, size: int, axis: int = 0) -> Array:
    """The participants ``part`` of ``x`` (along ``axis``), padded to ``size``."""
    index = np.arange(part.start, part.stop)
    return jnp.asarray(_pad(np.take(np.asarray(x), index, axis=axis), size, axis))


def marginal_log_lik(
    model: BehaviouralModel,
    data: TaskData,
    group_draws: Mapping[str, np.ndarray],
    n_samples: int,
    seed: int,
    proposal: Proposal | None = None,
    log: logging.Logger = LOG,
    budget: int = CELL_BUDGET,
) -> tuple[np.ndarray, np.ndarray]:
    """log p(y_i | phi_s) [S, P] for every draw ``s`` of ``group_draws`` (``{p}_mu`` and
    ``{p}_sigma`` [S, G], unconstrained scale) and each participant's importance-sampling
    ESS [P] (its :data:`ESS_QUANTILE` quantile over draws), from ``n_samples`` samples per
    participant shared by all draws: shares :data:`T_SHARE` from ``proposal``'s t
    components, :data:`POPULATION_SHARE` from the draws' populations and the rest from the
    draws' Gaussian components (``proposal`` None: a flat likelihood, :func:`flat_proposal`).

    Chunks of participants hold at most ``budget`` (sample x trial) cells, chunks of draws
    ``budget`` (draw x sample x parameter) cells; the last of each is padded, so each
    program compiles once.
    """
    if n_samples < 1:
        raise DataError(f"importance samples: {n_samples}, expected at least 1")
    n_s, n_p = _check_draws(model, data, group_draws), data.n_participants
    mu, sigma = _stacked(model, group_draws, "mu"), _stacked(model, group_draws, "sigma")
    if proposal is None:
        proposal = flat_proposal(*population(mu, sigma, data.group_index))
    _check_proposal(model, data, proposal)
    n_t = max(1, round(T_SHARE * n_samples))
    n_pop = min(max(1, round(POPULATION_SHARE * n_samples)), n_samples - n_t)
    gaussian, pop_draws = (component_draws(n_s, n) for n in (n_samples - n_t - n_pop, n_pop))
    counts = [np.bincount(a, minlength=n_s).astype(float) for a in (gaussian, pop_draws)]
    with np.errstate(divide="ignore"):
        log_counts = np.log(np.stack(counts, axis=1))  # [S, 2]
    p_cells = n_samples * data.n_trials
    p_size = chunk_length(n_p, p_cells, budget)
    s_cells = n_samples * p_size * len(model.params)
    s_size = chunk_length(n_s, s_cells, budget)
    s_parts = list(draw_chunks(n_s, s_cells, budget))
    draw_chunk = [
        (
            sp,
            *(jnp.asarray(_pad(a[sp], s_size)) for a in (mu, sigma)),
            jnp.asarray(_pad(log_counts[sp], s_size, fill=-np.inf).T),
        )
        for sp in s_parts
    ]
    sample = _sample_fn(model, data.n_options)
    components = [(mu[a], sigma[a]) for a in (gaussian, pop_draws)]  # whose samples they are
    log_lik, ess = np.empty((n_s, n_p)), LowQuantile(n_s, n_p, ESS_QUANTILE)
    p_parts = list(draw_chunks(n_p, p_cells, budget))
    inputs = (np.arange(n_p), Proposal(*proposal))
    data_inputs = (data.group_index, data.scan_inputs(model))
    for done, pp in enumerate(p_parts, start=1):
        chunk = functools.partial(_take, part=pp, size=p_size)
        index, prop = jax.tree.map(chunk, inputs)
        group_p, trials = jax.tree.map(chunk, data_inputs)
        normal, radius = variates(seed, np.asarray(index), n_samples, n_t, len(model.params))
        x, ll, log_t = sample(normal, radius, prop, *components, group_p, trials)
        log_c = jnp.full(ll.shape, -jnp.inf)
        for _, mu_c, sigma_c, count_c in draw_chunk:
            mixture = _component_mixture(mu_c, sigma_c, count_c, group_p, prop, x)
            log_c = jnp.logaddexp(log_c, mixture)
        log_r = ll - (jnp.logaddexp(math.log(n_t) + log_t, log_c) - math.log(n_samples))
        for sp, mu_c, sigma_c, _ in draw_chunk:
            out = _reweigh(mu_c, sigma_c, group_p, x, log_r)
            log_p, chunk_ess = (
                np.asarray(r)[: sp.stop - sp.start, : pp.stop - pp.start] for r in out
            )
            log_lik[sp, pp] = log_p
            ess.add(pp, chunk_ess)
        if done == len(p_parts) or done % max(1, len(p_parts) // 10) == 0:
            log.info("marginal likelihood: participant chunk %d of %d", done, len(p_parts))
    is_ess = ess.value()
    _log_ess(is_ess, data.participants, n_samples, log)
    return log_lik, is_ess


class LowQuantile:
    """The ``q`` quantile over ``n_draws`` draws per column, bit-identical to
    ``np.quantile(x, q, axis=0)`` (method ``linear``) of the [draws, columns] array ``x``,
    from each column's smallest values only: as many as the quantile's order statistics
    need (``q * (n_draws - 1) + 2``), fed a [draws, columns] chunk at a time. A column
    with a NaN gets NaN, as in numpy."""

    def __init__(self, n_draws: int, n_columns: int, q: float) -> None:
        self.low, self.high, self.gamma = quantile_positions(n_draws, q)
        self.smallest = np.full((self.high + 1, n_columns), np.inf)
        self.nan = np.zeros(n_columns, dtype=bool)

    def add(self, columns: slice, values: np.ndarray) -> None:
        """Some draws' values [n, c] of the ``columns``."""
        self.nan[columns] |= np.isnan(values).any(axis=0)
        both = np.concatenate([self.smallest[:, columns], values])
        self.smallest[:, columns] = np.partition(both, self.high, axis=0)[: self.high + 1]

    def value(self) -> np.ndarray:
        """Each column's quantile [columns]."""
        ordered = np.sort(self.smallest, axis=0)
        with np.errstate(invalid="ignore"):  # inf - inf in a NaN column, which gets NaN
            out = linear_quantile(ordered[self.low], ordered[self.high], self.gamma)
        return np.where(self.nan, np.nan, out)


def _log_ess(
    ess: np.ndarray, participants: tuple[str, ...], n_samples: int, log: logging.Logger
) -> None:
    """The smallest participant's IS ESS; a warning when it is below
    :data:`LOW_ESS_SHARE` of the samples."""
    worst = int(np.argmin(ess))
    message = "smallest importance-sampling ESS: %.1f of %d samples (participant %s, %g quantile)"
    args = (float(ess[worst]), n_samples, participants[worst], ESS_QUANTILE)
    if ess[worst] < LOW_ESS_SHARE * n_samples:
        log.warning(message + "; raise compare.importance_samples", *args)
    else:
        log.info(message, *args)


# --- the stage ------------------------------------------------------------------------------


def _fold_of(attrs: Mapping[str, Any], path: Any, k_fold: bool) -> tuple[int, list[str]]:
    """The fold and its held-out participants a posterior's attributes record ((-1, [])
    for a fit of all participants); they must be there exactly when scoring a fold."""
    has_fold = "fold" in attrs
    if k_fold and not has_fold:
        raise DataError(
            f"{path}: scoring held-out trials needs a fold's posterior (attrs fold, held_out)"
        )
    if not k_fold and has_fold:
        raise DataError(
            f"{path}: fold {attrs['fold']}'s posterior needs trials_path (the cleaned trials) "
            "to score its held-out participants"
        )
    if not has_fold:
        return -1, []
    return int(attrs["fold"]), [str(p) for p in json.loads(str(attrs["held_out"]))]


def _scoring_data(trials_path: Any, fitted: TaskData) -> TaskData:
    """The full cleaned trials of a fold's fit, checked to be the fit's participants in
    the fit's order and groups."""
    data = task_data_from_trials(pd.read_parquet(trials_path), fitted.n_options)
    if data.participants != fitted.participants:
        raise DataError(
            f"{trials_path}: participants differ from the fit's (or their order); expected "
            f"{list(fitted.participants)}"
        )
    if data.groups != fitted.groups or not np.array_equal(data.group_index, fitted.group_index):
        raise DataError(
            f"{trials_path}: participants' groups differ from the fit's {list(fitted.groups)}"
        )
    return data


def marginal_idata(
    draws: Mapping[str, np.ndarray],
    log_lik: np.ndarray,
    is_ess: np.ndarray,
    scored: np.ndarray,
    data: TaskData,
    draw_index: np.ndarray,
    attrs: Mapping[str, Any],
) -> Any:
    """``marginal.nc``: the group draws [chain, draw, group] as ``posterior``, the marginal
    log-likelihood [chain, draw, participant] as ``log_likelihood.choice``, ``is_ess``,
    ``scored`` and ``group_index`` [participant] as ``constant_data``, ``attrs`` on every
    group; ``draw_index`` (the kept draws' indices in the fit) is the draw coordinate."""
    import arviz as az

    n_chains, n_draws = next(iter(draws.values())).shape[:2]
    idata = az.from_dict(
        posterior=dict(draws),
        log_likelihood={OBSERVED: log_lik.reshape(n_chains, n_draws, -1)},
        constant_data={"is_ess": is_ess, "scored": scored, "group_index": data.group_index},
        coords={
            "draw": draw_index,
            "group": list(data.groups),
            "participant": list(data.participants),
        },
        dims={
            **{name: ["group"] for name in draws},
            OBSERVED: ["participant"],
            "is_ess": ["participant"],
            "scored": ["participant"],
            "group_index": ["participant"],
        },
    )
    for group in ("posterior", "log_likelihood", "constant_data"):
        getattr(idata, group).attrs.update(attrs)
    return idata


def _scored(data: TaskData, fold: int, held_out: list[str], path: Any) -> np.ndarray:
    """Which participants are scored: all of them, or a fold's held-out ones."""
    if fold < 0:
        return np.ones(data.n_participants, dtype=bool)
    unknown = sorted(set(held_out) - set(data.participants))
    if unknown:
        raise DataError(f"{path}: held-out participant(s) {unknown} are not in the fit")
    return np.isin(data.participants, held_out)


def _proposal(fit: fitted.Fit, path: Any, data: TaskData) -> Proposal:
    """The t components from ``fit`` (at ``path``), a fit of all of ``data``'s
    participants (not a fold's, whose held-out participants' draws are the prior's)."""
    if "fold" in fit.idata.posterior.attrs:
        raise DataError(f"{path}: proposals need the fit of all participants, not a fold's")
    if fit.data.participants != data.participants:
        raise DataError(
            f"{path}: participants differ from the scored fit's (or their order); expected "
            f"{list(data.participants)}"
        )
    return fit_proposal(fit)


def _score(
    fit: fitted.Fit,
    data: TaskData,
    scored: np.ndarray,
    draws: Mapping[str, np.ndarray],
    proposal: Proposal,
    settings: CompareSettings,
    seed: int,
    log: logging.Logger,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`marginal_log_lik` of the scored participants at ``draws`` [chain, draw,
    group], as [S, P] and [P] arrays with NaN for the participants not scored."""
    flat = flat_draws(draws)
    n_s, n_m = next(iter(flat.values())).shape[0], settings.importance_samples
    log.info(
        "%s: marginal likelihood of %d participant(s) at %d draws, %d importance samples each",
        fit.model.name,
        int(scored.sum()),
        n_s,
        n_m,
    )
    part = Proposal(*(a[scored] for a in proposal))
    part_ll, part_ess = marginal_log_lik(fit.model, data.select(scored), flat, n_m, seed, part, log)
    if scored.all():  # no second [S, P] array for a fit of all participants
        return part_ll, part_ess
    log_lik = np.full((n_s, data.n_participants), np.nan)
    log_lik[:, scored] = part_ll
    is_ess = np.full(data.n_participants, np.nan)
    is_ess[scored] = part_ess
    return log_lik, is_ess


def run_marginal(
    posterior_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    settings: CompareSettings,
    seed: int,
    trials_path: str | os.PathLike[str] | None = None,
    proposal_path: str | os.PathLike[str] | None = None,
    log: logging.Logger = LOG,
) -> Any:
    """Read a fit, estimate its participants' marginal log-likelihoods at ``settings.draws``
    draws of the group parameters (evenly spaced within each chain) and write
    ``marginal.nc`` atomically.

    With ``trials_path`` the posterior is a K-fold fit (attrs ``fold``, ``held_out``) whose
    held-out participants' trials were masked; their trials come from that cleaned table,
    and only they are scored (``scored`` True; the others' values are NaN); the proposals
    then come from ``proposal_path``, the fit of all participants (required). The
    ``method`` attribute says which of the two was computed.
    """
    fit = fitted.load_fit(posterior_path)
    posterior = fit.idata.posterior
    fold, held_out = _fold_of(posterior.attrs, posterior_path, trials_path is not None)
    if fold >= 0 and proposal_path is None:
        raise DataError(
            f"{posterior_path}: scoring a fold needs proposal_path, the fit of all participants"
        )
    data = fit.data if trials_path is None else _scoring_data(trials_path, fit.data)
    scored = _scored(data, fold, held_out, posterior_path)
    source = fit if proposal_path is None else fitted.load_fit(proposal_path)
    proposal = _proposal(source, proposal_path or posterior_path, data)
    draws = fitted.group_draws(fit, settings.draws)
    log_lik, is_ess = _score(fit, data, scored, draws, proposal, settings, seed, log)
    kept = fitted.draw_indices(posterior.sizes["chain"], posterior.sizes["draw"], settings.draws)
    attrs = {
        "model": fit.model.name,
        "dataset": str(posterior.attrs.get("dataset", "")),
        "method": "psis" if fold < 0 else "kfold",
        "fold": fold,
        "held_out": json.dumps(held_out),
        "importance_samples": settings.importance_samples,
        "draws": int(log_lik.shape[0]),
        "seed": seed,
        "data_hash": str(posterior.attrs["data_hash"]),
        "model_hash": str(posterior.attrs["model_hash"]),
    }
    draw_index = posterior.coords["draw"].values[kept]
    idata = marginal_idata(draws, log_lik, is_ess, scored, data, draw_index, attrs)
    write_netcdf(idata, out_path)
    return idata
