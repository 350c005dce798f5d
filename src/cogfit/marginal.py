"""Each participant's likelihood integrated over their offsets, per draw of the group
parameters: the pointwise quantity of model comparison for NEW participants.

The per-participant log-likelihood in ``posterior.nc`` is conditional on the
participant's own parameters, so leaving a participant out of it changes the posterior
too much for PSIS-LOO (most Pareto k above 0.7). For each draw ``phi_s`` of the group
means and sds this module estimates instead

    p(y_i | phi_s) = ∫ p(y_i | theta = link(mu_s[g_i] + z * sigma_s[g_i])) N(z; 0, I) dz,

the marginal likelihood whose PSIS-LOO over participants is well behaved (Merkle, Furr &
Rabe-Hesketh 2019, Psychometrika 84:802-829; Vehtari, Gelman & Gabry 2017, Stat. Comput.
27:1413-1432).

The integral is estimated by importance sampling over ``z``. The posterior of ``z``
moves and narrows with ``sigma_s`` (the group sds of a small study vary several-fold
between draws), so one proposal in ``z`` cannot serve every draw. Instead each
participant's log-likelihood is expanded to second order in the unconstrained parameters
``x = mu + z * sigma`` once, at the Laplace mode under the posterior-mean group
parameters (gradient and Hessian by autodiff, eigenvalues clamped at 0), and each draw's
Gaussian approximation of the posterior of ``z`` follows from it in closed form
(precision ``I + S H S``, ``S = diag(sigma_s)``). The proposal of a draw is a defensive
mixture (Hesterberg 1995, Technometrics 37:185-194) of a multivariate t at that
approximation and the prior N(0, I), sampled in fixed proportions (Owen & Zhou 2000,
JASA 95:135-143), so the weights stay bounded by the likelihood over the prior's share.
Every draw transforms the same standard-normal and chi-square variates (common random
numbers), so the estimate varies smoothly from draw to draw. The Kish effective sample
size of each draw's weights is reported per participant (a low quantile over draws). The
expansion uses no draws of the participant's own offsets, so participants held out of a
K-fold refit are scored exactly as the others.

Memory: chunks of draws and participants bound the computation; the one array with a row
per draw is the output, the log-likelihood [draws, participants] (float64). The ESS
quantile keeps only each participant's smallest ESS values over draws, as many as the
quantile's order statistics need (5% of the draws, plus two).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
from cogfit.links import get_link
from cogfit.models.base import Array, BehaviouralModel
from cogfit.names import OBSERVED, site_name
from cogfit.settings import settings_from_section
from cogfit.trialwise import linear_quantile, quantile_positions

LOG = logging.getLogger("cogfit.marginal")

#: degrees of freedom of the proposal's t component: tails for where the quadratic
#: expansion, made at the posterior-mean group parameters, is off (with the Gaussian
#: approximation's scale as is: against 20,000-sample estimates on the fits of
#: tests/conftest.py, a scale widened by 1.2 raised the smallest ESS but also the error)
PROPOSAL_DOF = 4.0
#: share of samples drawn from the prior N(0, I) (the defensive component): it covers
#: posteriors of the offsets that a draw makes bimodal or flat
DEFENSIVE_SHARE = 0.2
#: the ESS reported per participant is this quantile over draws: a few draws with poor
#: weights hardly move the mean over draws that LOO takes, most of them would
ESS_QUANTILE = 0.05
#: Newton's method for the mode: the smallest curvature of a step (a step at most 2 prior
#: sds where the objective is not concave), the iterations, the step fractions tried
NEWTON_MIN_CURVATURE = 0.25
NEWTON_STEPS = 25
LINE_SEARCH = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.0)
#: an importance-sampling ESS below this share of the samples is warned about
LOW_ESS_SHARE = 0.1


@dataclass(frozen=True)
class CompareSettings:
    """Model comparison settings: the config's ``compare`` section, one field per key
    (meanings, limits and defaults are the schema's; a test keeps the defaults equal)."""

    method: str = "psis"
    folds: int = 10
    draws: int = 500
    importance_samples: int = 100

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> CompareSettings:
        """From the config's ``compare`` mapping, checked against its schema."""
        return settings_from_section(cls, "compare", cfg)


class Expansion(NamedTuple):
    """Each participant's log-likelihood to second order in the unconstrained parameters:
    ``log L(x) ~ log L(point) + gradient (x - point) - (x - point)' curvature (x - point) / 2``."""

    point: Array  # [P, D]
    gradient: Array  # [P, D]
    curvature: Array  # [P, D, D], positive semi-definite


class BaseSamples(NamedTuple):
    """The random variates every draw's proposal transforms (common random numbers)."""

    normal: Array  # [M, P, D]: standard normals; the last rows are the prior's samples
    t_radius: Array  # [M_t, P]: sqrt(dof / chi2(dof)) of the t component's rows


# --- the likelihood of one participant -------------------------------------------------


def _link_fn(model: BehaviouralModel) -> Callable[[Array], dict[str, Array]]:
    """Unconstrained values [..., D] -> {name: natural-scale value [...]}."""
    links = [get_link(s.link, s.upper) for s in model.params]
    pairs = list(zip(model.param_names, links, strict=True))
    return lambda x: {name: link(x[..., d]) for d, (name, link) in enumerate(pairs)}


def _one_log_lik(model: BehaviouralModel, n_options: int) -> Callable[..., Array]:
    """``(theta, choices [T], outcomes [T], mask [T]) -> log p(y)`` of one participant with
    scalar parameters; the sum is carried through the scan, so no [T] array is kept."""

    def log_lik(theta: dict[str, Array], choices: Array, outcomes: Array, mask: Array) -> Array:
        def body(carry: tuple, trial: tuple) -> tuple:
            state, total = carry
            state, logp = model.step(state, theta, trial)
            return (state, total + logp), None

        start = (model.init(theta, n_options), jnp.zeros((), jnp.result_type(float)))
        (_, total), _ = jax.lax.scan(body, start, (choices, outcomes, mask))
        return total

    return log_lik


# --- the expansion at the Laplace mode ------------------------------------------------------


@functools.lru_cache(maxsize=8)  # one compiled program per model and shapes
def _expansion_fn(model: BehaviouralModel, n_options: int) -> Callable[..., Expansion]:
    """Jitted ``(mu [P, D], sigma [P, D], choices, outcomes, mask) -> Expansion``: the mode
    of log L(mu + z sigma) + log N(z; 0, I) by Newton's method with a line search, then
    the log-likelihood's gradient and Hessian in ``x`` there, per participant."""
    log_lik, to_theta = _one_log_lik(model, n_options), _link_fn(model)
    fractions = jnp.asarray(LINE_SEARCH)

    def one(mu: Array, sigma: Array, c: Array, o: Array, m: Array) -> Expansion:
        def log_l(x: Array) -> Array:
            value = log_lik(to_theta(x), c, o, m)
            return jnp.where(jnp.isnan(value), -jnp.inf, value)

        def objective(z: Array) -> Array:
            return log_l(mu + z * sigma) - 0.5 * jnp.sum(z * z)

        def newton(_: int, z: Array) -> Array:
            curvature, vectors = jnp.linalg.eigh(-jax.hessian(objective)(z))
            curvature = jnp.maximum(curvature, NEWTON_MIN_CURVATURE)
            step = vectors @ ((vectors.T @ jax.grad(objective)(z)) / curvature)
            values = jax.vmap(lambda t: objective(z + t * step))(fractions)
            return z + fractions[jnp.argmax(values)] * step  # t = 0 is a candidate

        point = mu + jax.lax.fori_loop(0, NEWTON_STEPS, newton, jnp.zeros_like(mu)) * sigma
        point = jnp.where(jnp.isfinite(point), point, mu)
        curvature, vectors = jnp.linalg.eigh(-jax.hessian(log_l)(point))
        psd = (vectors * jnp.maximum(curvature, 0.0)) @ vectors.T
        gradient = jax.grad(log_l)(point)
        # no expansion where derivatives fail: each draw's proposal is then its prior
        finite = jnp.isfinite(psd).all() & jnp.isfinite(gradient).all()
        return Expansion(point, jnp.where(finite, gradient, 0.0), jnp.where(finite, psd, 0.0))

    return jax.jit(jax.vmap(one))


def _expansion(
    model: BehaviouralModel, data: TaskData, mu: np.ndarray, sigma: np.ndarray, budget: int
) -> Expansion:
    """Every participant's :class:`Expansion`, in participant chunks of one size; ``mu``,
    ``sigma`` [D, G]: the posterior-mean group parameters."""
    n_p, dim = data.n_participants, len(model.params)
    cells = data.n_trials * (dim + len(LINE_SEARCH))
    size = chunk_length(n_p, cells, budget)
    expand = _expansion_fn(model, data.n_options)
    inputs = (mu.T[data.group_index], sigma.T[data.group_index])
    inputs += (data.choices, data.outcomes, data.mask)
    parts = []
    for part in draw_chunks(n_p, cells, budget):
        out = expand(*(jnp.asarray(_pad(x[part], size)) for x in inputs))
        parts.append([np.asarray(r)[: part.stop - part.start] for r in out])
    return Expansion(*(jnp.asarray(np.concatenate(r)) for r in zip(*parts, strict=True)))


def base_samples(n_samples: int, n_participants: int, dim: int, seed: int) -> BaseSamples:
    """The variates of ``n_samples`` importance samples per participant: the first
    ``M - round(DEFENSIVE_SHARE * M)`` rows for the t component, the rest for the prior."""
    n_t = n_samples - round(DEFENSIVE_SHARE * n_samples)
    k_normal, k_chi2 = jax.random.split(jax.random.key(seed))
    normal = jax.random.normal(k_normal, (n_samples, n_participants, dim))
    chi2 = 2.0 * jax.random.gamma(k_chi2, PROPOSAL_DOF / 2, (n_t, n_participants))
    return BaseSamples(normal, jnp.sqrt(PROPOSAL_DOF / chi2))


# --- each draw's proposal and the importance-sampling estimate --------------------------


def _normal_logpdf(z: Array) -> Array:
    """log N(z; 0, I) over the last axis."""
    return -0.5 * jnp.sum(z * z, axis=-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def _proposal(
    expansion: Expansion, base: BaseSamples, mu: Array, sigma: Array
) -> tuple[Array, Array]:
    """Each draw's importance samples ``z`` [S, M, P, D] and ``log N(z) - log q(z)``
    [S, M, P]; ``mu``, ``sigma`` [S, P, D] the draws' group parameters per participant.

    With the expansion, the posterior of ``z`` is approximately Gaussian with precision
    ``A = I + S H S`` and mean ``A^-1 S (g - H (mu - point))``; the t component is centred
    there with scale matrix ``A^-1``, so ``z - mean = L^-T eps * radius`` for
    ``A = L L'``. The mixture density (fixed shares) is evaluated at every sample.
    """
    dof, dim = PROPOSAL_DOF, mu.shape[-1]
    n_t = base.t_radius.shape[0]
    h = expansion.curvature
    precision = jnp.eye(dim) + sigma[..., :, None] * h[None] * sigma[..., None, :]
    shift = mu - expansion.point[None]
    rhs = sigma * (expansion.gradient[None] - jnp.einsum("pde,spe->spd", h, shift))
    chol = jnp.linalg.cholesky(precision)  # [S, P, D, D]
    mean = jax.scipy.linalg.cho_solve((chol, True), rhs[..., None])[..., 0]
    inverse = solve_triangular(chol, jnp.broadcast_to(jnp.eye(dim), chol.shape), lower=True)
    t_eps = base.normal[:n_t] * base.t_radius[..., None]  # [M_t, P, D]
    t_draws = mean[:, None] + jnp.einsum("sped,mpe->smpd", inverse, t_eps)
    prior = jnp.broadcast_to(base.normal[n_t:], (mu.shape[0],) + base.normal[n_t:].shape)
    z = jnp.concatenate([t_draws, prior], axis=1)
    rotated = jnp.einsum("sped,smpe->smpd", chol, z - mean[:, None])
    log_det = jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)  # [S, P]
    norm = gammaln((dof + dim) / 2) - gammaln(dof / 2) - 0.5 * dim * math.log(dof * math.pi)
    log_t = norm + log_det[:, None]
    log_t = log_t - 0.5 * (dof + dim) * jnp.log1p(jnp.sum(rotated**2, axis=-1) / dof)
    log_prior = _normal_logpdf(z)
    share = 1.0 - n_t / base.normal.shape[0]
    if share == 0:
        return z, log_prior - log_t
    log_q = jnp.logaddexp(math.log1p(-share) + log_t, math.log(share) + log_prior)
    return z, log_prior - log_q


@functools.lru_cache(maxsize=8)  # one compiled program per model and shapes
def _estimate_fn(model: BehaviouralModel, n_options: int) -> Callable[..., tuple]:
    """Jitted ``(mu [S, D, G], sigma [S, D, G], group_index [P], expansion, base, choices,
    outcomes, mask) -> (log p_hat [S, P], Kish ESS [S, P])`` for one chunk."""
    log_lik, to_theta = _one_log_lik(model, n_options), _link_fn(model)
    # inner vmap: participants (parameters and data); outer: draws x samples (data shared)
    batched = jax.vmap(jax.vmap(log_lik), in_axes=(0, None, None, None))

    def estimate(mu, sigma, group_index, expansion, base, choices, outcomes, mask):  # noqa: ANN001, ANN202
        mu_p = jnp.moveaxis(mu[:, :, group_index], 1, 2)  # [S, P, D]
        sigma_p = jnp.moveaxis(sigma[:, :, group_index], 1, 2)
        z, log_w0 = _proposal(expansion, base, mu_p, sigma_p)
        x = mu_p[:, None] + z * sigma_p[:, None]  # [S, M, P, D]
        n_s, n_m, n_p, _ = x.shape
        theta = {k: v.reshape(n_s * n_m, n_p) for k, v in to_theta(x).items()}
        ll = batched(theta, choices, outcomes, mask).reshape(n_s, n_m, n_p)
        log_w = jnp.where(jnp.isnan(ll), -jnp.inf, ll) + log_w0
        log_p = jax.nn.logsumexp(log_w, axis=1) - math.log(n_m)
        weights = jax.nn.softmax(log_w, axis=1)
        return log_p, 1.0 / jnp.sum(weights**2, axis=1)

    return jax.jit(estimate)


def _pad(x: Any, length: int, axis: int = 0) -> np.ndarray:
    """``x`` padded along ``axis`` to ``length`` by repeating its last entry."""
    x = np.asarray(x)
    last = np.take(x, [-1], axis=axis)
    return np.concatenate([x, np.repeat(last, length - x.shape[axis], axis=axis)], axis=axis)


def _stacked(model: BehaviouralModel, draws: Mapping[str, np.ndarray], role: str) -> np.ndarray:
    """``{p}_{role}`` draws [S, G] of every parameter stacked to [S, D, G]."""
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
    log: logging.Logger = LOG,
    budget: int = CELL_BUDGET,
) -> tuple[np.ndarray, np.ndarray]:
    """log p(y_i | phi_s) [S, P] for every draw ``s`` of ``group_draws`` (``{p}_mu`` and
    ``{p}_sigma`` [S, G], unconstrained scale) and each participant's importance-sampling
    ESS [P] (its :data:`ESS_QUANTILE` quantile over draws), from ``n_samples`` samples per
    participant.

    Chunks of participants and of draws hold at most ``budget`` (draw x participant x
    sample x trial) cells; the last of each is padded, so the program compiles once.
    """
    if n_samples < 1:
        raise DataError(f"importance samples: {n_samples}, expected at least 1")
    n_s, n_p, n_t = _check_draws(model, data, group_draws), data.n_participants, data.n_trials
    mu, sigma = _stacked(model, group_draws, "mu"), _stacked(model, group_draws, "sigma")
    expansion = _expansion(model, data, mu.mean(0), sigma.mean(0), budget)
    base = base_samples(n_samples, n_p, len(model.params), seed)
    p_cells, p_size = n_samples * n_t, chunk_length(n_p, n_samples * n_t, budget)
    s_cells = n_samples * p_size * n_t
    s_size = chunk_length(n_s, s_cells, budget)
    estimate = _estimate_fn(model, data.n_options)
    log_lik, ess = np.empty((n_s, n_p)), LowQuantile(n_s, n_p, ESS_QUANTILE)
    p_parts = list(draw_chunks(n_p, p_cells, budget))
    s_parts = list(draw_chunks(n_s, s_cells, budget))
    done, n_chunks = 0, len(p_parts) * len(s_parts)
    for pp in p_parts:
        data_p = [_take(x, pp, p_size) for x in (data.choices, data.outcomes, data.mask)]
        group_p = _take(data.group_index, pp, p_size)
        expansion_p = Expansion(*(_take(x, pp, p_size) for x in expansion))
        base_p = BaseSamples(*(_take(x, pp, p_size, axis=1) for x in base))
        for sp in s_parts:
            draws = (jnp.asarray(_pad(mu[sp], s_size)), jnp.asarray(_pad(sigma[sp], s_size)))
            out = estimate(*draws, group_p, expansion_p, base_p, *data_p)
            log_p, chunk_ess = (
                np.asarray(r)[: sp.stop - sp.start, : pp.stop - pp.start] for r in out
            )
            log_lik[sp, pp] = log_p
            ess.add(pp, chunk_ess)
            done += 1
            if done == n_chunks or done % max(1, n_chunks // 10) == 0:
                log.info("marginal likelihood: chunk %d of %d", done, n_chunks)
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


def _select(data: TaskData, keep: np.ndarray) -> TaskData:
    """The participants where ``keep`` is True (all groups kept, so group draws index
    them as before)."""
    return replace(
        data,
        participants=tuple(p for p, k in zip(data.participants, keep, strict=True) if k),
        group_index=data.group_index[keep],
        choices=data.choices[keep],
        outcomes=data.outcomes[keep],
        mask=data.mask[keep],
    )


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


def _score(
    fit: fitted.Fit,
    data: TaskData,
    scored: np.ndarray,
    draws: Mapping[str, np.ndarray],
    settings: CompareSettings,
    seed: int,
    log: logging.Logger,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`marginal_log_lik` of the scored participants at ``draws`` [chain, draw,
    group], as [S, P] and [P] arrays with NaN for the participants not scored."""
    flat = {k: v.reshape(-1, v.shape[-1]) for k, v in draws.items()}
    n_s, n_m = next(iter(flat.values())).shape[0], settings.importance_samples
    log.info(
        "%s: marginal likelihood of %d participant(s) at %d draws, %d importance samples each",
        fit.model.name,
        int(scored.sum()),
        n_s,
        n_m,
    )
    part_ll, part_ess = marginal_log_lik(fit.model, _select(data, scored), flat, n_m, seed, log)
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
    log: logging.Logger = LOG,
) -> Any:
    """Read a fit, estimate its participants' marginal log-likelihoods at ``settings.draws``
    draws of the group parameters (evenly spaced within each chain) and write
    ``marginal.nc`` atomically.

    With ``trials_path`` the posterior is a K-fold fit (attrs ``fold``, ``held_out``) whose
    held-out participants' trials were masked; their trials come from that cleaned table,
    and only they are scored (``scored`` True; the others' values are NaN). The ``method``
    attribute says which of the two was computed.
    """
    fit = fitted.load_fit(posterior_path)
    posterior = fit.idata.posterior
    fold, held_out = _fold_of(posterior.attrs, posterior_path, trials_path is not None)
    data = fit.data if trials_path is None else _scoring_data(trials_path, fit.data)
    scored = _scored(data, fold, held_out, posterior_path)
    draws = fitted.group_draws(fit, settings.draws)
    log_lik, is_ess = _score(fit, data, scored, draws, settings, seed, log)
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
