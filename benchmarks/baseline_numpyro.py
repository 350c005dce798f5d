"""The baseline: hierarchical Rescorla-Wagner written the way NumPyro tutorials do it.

A per-participant ``lax.scan`` under ``vmap``, ``.at[].add`` updates, one group, the same
priors and links as cogfit's ``rw`` (so both target the same posterior). Kept here, not in
the library, as the reference that cogfit's speed is measured against.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import ndtr


def participant_loglik(alpha, beta, choices, outcomes, mask):  # noqa: ANN001, ANN201
    def step(values, trial):  # noqa: ANN001, ANN202
        c, o, m = trial
        logp = jax.nn.log_softmax(beta * values)[c]
        values = values.at[c].add(m * alpha * (o - values[c]))
        return values, logp * m

    _, logp = jax.lax.scan(step, jnp.zeros(2), (choices, outcomes, mask))
    return logp.sum()


def model(choices, outcomes, mask):  # noqa: ANN001, ANN201
    n = choices.shape[0]
    a_mu = numpyro.sample("alpha_mu", dist.Normal(0.0, 1.0))
    a_sd = numpyro.sample("alpha_sigma", dist.HalfNormal(0.5))
    b_mu = numpyro.sample("beta_mu", dist.Normal(-1.0, 1.0))
    b_sd = numpyro.sample("beta_sigma", dist.HalfNormal(0.5))
    with numpyro.plate("participant", n):
        a_z = numpyro.sample("alpha_offset", dist.Normal(0.0, 1.0))
        b_z = numpyro.sample("beta_offset", dist.Normal(0.0, 1.0))
    alpha = ndtr(a_mu + a_z * a_sd)
    beta = 20.0 * ndtr(b_mu + b_z * b_sd)
    ll = jax.vmap(participant_loglik)(alpha, beta, choices, outcomes, mask.astype(outcomes.dtype))
    numpyro.factor("choice", ll.sum())
