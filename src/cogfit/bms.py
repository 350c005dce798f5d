"""Random-effects Bayesian model selection over participants' log model evidences.

Each participant's data are taken to come from one of K models, drawn with population
frequencies ``r ~ Dirichlet(alpha0)``. From the log evidence ``L[n, k]`` of every
participant under every model, the variational Bayes scheme of Stephan et al. (2009,
NeuroImage 46:1004, eqs. 13-15) gives the Dirichlet posterior ``q(r) = Dir(alpha)`` and
each participant's posterior model probabilities ``g[n, k]``; iterating

    g[n, k] = softmax_k(L[n, k] + psi(alpha_k) - psi(sum alpha)),
    alpha   = alpha0 + sum_n g[n, :]

to its fixed point. Reported with it: the expected frequencies ``alpha / sum(alpha)``,
the exceedance probabilities ``P(r_k > r_j for all j != k)``, and the Bayesian omnibus
risk and protected exceedance probabilities of Rigoux et al. (2014, NeuroImage 84:971,
eqs. 5-7 and appendix A): ``BOR = 1 / (1 + exp(F1 - F0))`` with ``F0`` the log evidence
of the null (every frequency 1/K) and ``F1`` the free energy of the random-effects model,
and ``PXP = (1 - BOR) * XP + BOR / K``.

In cogfit the log evidences are each participant's out-of-sample elpd under each model
(:mod:`cogfit.comparison`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

LOG = logging.getLogger("cogfit.bms")
#: convergence of the fixed-point iteration: largest change of any alpha_k
TOLERANCE = 1e-10
MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class BMSResult:
    """The random-effects BMS of ``N`` participants and ``K`` models."""

    alpha: np.ndarray  #: [K] Dirichlet posterior over model frequencies
    g: np.ndarray  #: [N, K] posterior model probabilities per participant
    frequency: np.ndarray  #: [K] expected frequencies alpha / sum(alpha)
    xp: np.ndarray  #: [K] exceedance probabilities
    pxp: np.ndarray  #: [K] protected exceedance probabilities
    bor: float  #: Bayesian omnibus risk
    free_energy: float  #: F1, the free energy of the random-effects model
    null_evidence: float  #: F0, the log evidence of equal frequencies
    iterations: int  #: fixed-point iterations run


def posterior_model_probabilities(lme: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``g[n, k]``: each participant's model posterior given ``q(r) = Dir(alpha)``
    (Stephan et al. 2009, eq. 13), normalised in log space."""
    log_u = lme + special.digamma(alpha) - special.digamma(alpha.sum())
    return np.exp(log_u - special.logsumexp(log_u, axis=1, keepdims=True))


def free_energy(lme: np.ndarray, alpha: np.ndarray, g: np.ndarray, alpha0: np.ndarray) -> float:
    """The variational free energy F1 of the random-effects model (Rigoux et al. 2014,
    eq. A.20): the expected log joint of evidences, assignments and frequencies under
    ``q(m) q(r)`` plus the entropies of ``q(m)`` and ``q(r) = Dir(alpha)``."""
    e_log_r = special.digamma(alpha) - special.digamma(alpha.sum())
    e_log_evidence = float(np.sum(g * lme))
    e_log_assignment = float(np.sum(g @ e_log_r))
    e_log_prior = float(
        special.gammaln(alpha0.sum())
        - special.gammaln(alpha0).sum()
        + np.sum((alpha0 - 1) * e_log_r)
    )
    entropy_m = float(np.sum(special.entr(g)))
    entropy_r = float(
        special.gammaln(alpha).sum() - special.gammaln(alpha.sum()) - np.sum((alpha - 1) * e_log_r)
    )
    return e_log_evidence + e_log_assignment + e_log_prior + entropy_m + entropy_r


def null_log_evidence(lme: np.ndarray) -> float:
    """F0: the exact log evidence of the null, all frequencies equal to 1/K
    (Rigoux et al. 2014, eq. A.17): ``sum_n log(sum_k exp(L[n, k]) / K)``."""
    return float(np.sum(special.logsumexp(lme, axis=1) - np.log(lme.shape[1])))


def exceedance_probabilities(alpha: np.ndarray) -> np.ndarray:
    """``P(r_k = max_j r_j)`` under ``Dir(alpha)``, exactly.

    K = 2: ``P(r_1 > 1/2) = 1 - I_{1/2}(alpha_1, alpha_2)`` (the Beta CDF). K > 2: with
    ``r = Y / sum(Y)``, ``Y_j ~ Gamma(alpha_j)`` independent, ``r_k`` is largest when
    ``Y_k`` is, so ``XP_k = E[prod_{j != k} F_j(Y_k)]``, a one-dimensional integral,
    written over the quantile ``u`` of ``Y_k`` so that its integrand is bounded on
    [0, 1] whatever the alphas' size, and integrated by adaptive quadrature."""
    alpha = np.asarray(alpha, dtype=float)
    if alpha.size == 1:
        return np.ones(1)
    if alpha.size == 2:
        first = float(stats.beta.sf(0.5, alpha[0], alpha[1]))
        return np.array([first, 1.0 - first])
    return np.clip(_exceedance_by_quadrature(alpha), 0.0, 1.0)


def _exceedance_by_quadrature(alpha: np.ndarray) -> np.ndarray:
    """The exceedance probabilities as the integrals of :func:`exceedance_probabilities`."""
    xp = np.empty(alpha.size)
    for k in range(alpha.size):
        others = np.delete(alpha, k)

        def integrand(u: float, a: float = alpha[k], rest: np.ndarray = others) -> float:
            y = special.gammaincinv(a, u)
            return float(np.prod(special.gammainc(rest, y)))

        xp[k] = integrate.quad(integrand, 0.0, 1.0, limit=500, epsabs=1e-13, epsrel=1e-10)[0]
    return xp


def random_effects_bms(
    lme: np.ndarray,
    alpha0: float = 1.0,
    tol: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    log: logging.Logger = LOG,
) -> BMSResult:
    """Random-effects BMS (see the module docstring) of ``lme`` [N participants, K models]
    with the symmetric Dirichlet prior ``alpha0`` (1: every frequency equally likely).

    With one model every probability is 1 and the omnibus risk is undefined (NaN): the
    null and the alternative are then the same hypothesis."""
    lme = np.asarray(lme, dtype=float)
    if lme.ndim != 2 or lme.shape[0] == 0 or lme.shape[1] == 0:
        raise ValueError(f"log evidences must be [participants, models], got shape {lme.shape}")
    if not np.all(np.isfinite(lme)):
        raise ValueError("log evidences must be finite")
    n, k = lme.shape
    prior = np.full(k, float(alpha0))
    if k == 1:
        ones = np.ones(1)
        return BMSResult(prior + n, np.ones((n, 1)), ones, ones, ones, np.nan, np.nan, np.nan, 0)
    alpha, iterations = _fixed_point(lme, prior, tol, max_iterations, log)
    g = posterior_model_probabilities(lme, alpha)
    f1, f0 = free_energy(lme, alpha, g, prior), null_log_evidence(lme)
    bor = float(special.expit(f0 - f1))
    xp = exceedance_probabilities(alpha)
    return BMSResult(
        alpha=alpha,
        g=g,
        frequency=alpha / alpha.sum(),
        xp=xp,
        pxp=(1 - bor) * xp + bor / k,
        bor=bor,
        free_energy=f1,
        null_evidence=f0,
        iterations=iterations,
    )


def _fixed_point(
    lme: np.ndarray, prior: np.ndarray, tol: float, max_iterations: int, log: logging.Logger
) -> tuple[np.ndarray, int]:
    """Iterate g and alpha (Stephan et al. 2009, eqs. 13-15) until alpha settles."""
    alpha = prior.copy()
    for iteration in range(1, max_iterations + 1):
        updated = prior + posterior_model_probabilities(lme, alpha).sum(axis=0)
        change = float(np.max(np.abs(updated - alpha)))
        alpha = updated
        if change < tol:
            return alpha, iteration
    log.warning(
        "random-effects BMS: alpha still moved by %.3g after %d iterations", change, max_iterations
    )
    return alpha, max_iterations
