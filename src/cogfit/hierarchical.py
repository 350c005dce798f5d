"""The statistical model: every behavioural parameter hierarchical, non-centred.

For each parameter::

    mu[g]     ~ Normal(mean_loc, mean_scale)       one per group
    sigma[g]  ~ HalfNormal(sd_scale)               one per group (or HalfCauchy)
    offset[p] ~ Normal(0, 1)                       one per participant (standard normal)
    theta[p]  = link(mu[g(p)] + offset[p] * sigma[g(p)])

The offset is standard normal; the group mean and sd enter only through the last line,
which removes the funnel that a centred parameterisation gives the sampler.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions.transforms import biject_to

from cogfit.likelihood import Trials, participant_log_lik
from cogfit.links import get_link
from cogfit.models.base import Array, BehaviouralModel, ParamSpec
from cogfit.names import LOG_LIK_SITE, OBSERVED, site_names

GROUP_PLATE = "group"
PARTICIPANT_PLATE = "participant"
#: the distribution of each of :data:`cogfit.models.spec.SD_PRIORS`
SD_DISTRIBUTIONS = {"half_normal": dist.HalfNormal, "half_cauchy": dist.HalfCauchy}


def _priors(spec: ParamSpec) -> tuple[dist.Distribution, dist.Distribution]:
    """The group-mean and group-sd priors of one parameter."""
    sd_prior = SD_DISTRIBUTIONS[spec.sd_prior](spec.sd_scale)
    return dist.Normal(spec.mean_loc, spec.mean_scale), sd_prior


def prior_median_point(
    model: BehaviouralModel, n_participants: int, n_groups: int
) -> dict[str, Array]:
    """Every sample site at its prior median, on the unconstrained scale NUTS works on.

    Offsets at 0 put every participant at the group mean: a finite, data-independent
    start that needs no trace of the model (which would compile the likelihood op by op).
    """
    point = {}
    for spec in model.params:
        names = site_names(spec.name)
        mean_prior, sd_prior = _priors(spec)
        sd_median = biject_to(sd_prior.support).inv(sd_prior.icdf(0.5))
        point[names["mu"]] = jnp.full(n_groups, mean_prior.icdf(0.5))
        point[names["sigma"]] = jnp.full(n_groups, sd_median)
        point[names["offset"]] = jnp.zeros(n_participants)
    return point


def hierarchical_param(
    spec: ParamSpec, n_participants: int, group_index: Array, n_groups: int
) -> Array:
    """Create group mean, group sd and standard-normal offsets; return theta [P]."""
    names = site_names(spec.name)
    link = get_link(spec.link, spec.upper)
    mean_prior, sd_prior = _priors(spec)
    with numpyro.plate(GROUP_PLATE, n_groups):
        mu = numpyro.sample(names["mu"], mean_prior)
        sigma = numpyro.sample(names["sigma"], sd_prior)
    with numpyro.plate(PARTICIPANT_PLATE, n_participants):
        offset = numpyro.sample(names["offset"], dist.Normal(0.0, 1.0))
    numpyro.deterministic(names["mu_natural"], link(mu))
    return numpyro.deterministic(
        names["theta"], link(mu[group_index] + offset * sigma[group_index])
    )


def hierarchical_model(
    model: BehaviouralModel,
    trials: Trials,
    group_index: Array,
    n_groups: int,
    n_options: int,
    scan: str = "sequential",
    chunk: int = 0,
) -> None:
    """NumPyro model: hierarchical parameters for every spec, then the choice likelihood
    (``trials``, ``scan``, ``chunk``: see :func:`cogfit.likelihood.participant_log_lik`)."""
    group_index = jnp.asarray(group_index)
    n_participants = group_index.shape[0]
    params = {
        spec.name: hierarchical_param(spec, n_participants, group_index, n_groups)
        for spec in model.params
    }
    loglik = participant_log_lik(model, params, trials, n_options, scan, chunk)
    numpyro.deterministic(LOG_LIK_SITE, loglik)
    numpyro.factor(OBSERVED, loglik.sum())
