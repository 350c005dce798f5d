"""The ADVI start: checked against a posterior known in closed form, and its use by fit()."""

from __future__ import annotations

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from cogfit.fit import SamplerSettings, fit
from cogfit.hierarchical import hierarchical_model, prior_median_point
from cogfit.models import REGISTRY
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit
from cogfit.warmstart import advi_start


def normal_mean_model(y: np.ndarray, prior_sd: float) -> None:
    mu = numpyro.sample("mu", dist.Normal(0.0, prior_sd))
    with numpyro.plate("obs", y.shape[0]):
        numpyro.sample("y", dist.Normal(mu, 1.0), obs=y)


def test_advi_matches_the_conjugate_posterior() -> None:
    """Normal mean, known sd: the posterior is Normal, so mean-field ADVI is exact."""
    rng = np.random.default_rng(3)
    y = rng.normal(1.7, 1.0, 50).astype(np.float32)
    prior_sd = 10.0
    post_var = 1.0 / (1.0 / prior_sd**2 + y.size)
    post_mean = post_var * y.sum()
    start = advi_start(
        normal_mean_model,
        (y, prior_sd),
        {"mu": np.float32(0.0)},
        jax.random.PRNGKey(0),
        chains=400,
        steps=1500,
        lr=0.02,
        spread=1.0,
    )
    assert start is not None
    draws = np.asarray(start.init_params["mu"])
    assert draws.shape == (400,)
    # spread=1: the chains' starts are draws of the fitted Gaussian itself
    assert abs(draws.mean() - post_mean) < 4 * np.sqrt(post_var / 400) + 0.01
    assert float(start.inverse_mass_matrix[0]) == pytest.approx(post_var, rel=0.25)
    assert np.std(draws) == pytest.approx(np.sqrt(post_var), rel=0.25)


def test_advi_start_for_the_hierarchical_model() -> None:
    """One over-dispersed start per chain, a positive metric in NumPyro's flat order."""
    rng = np.random.default_rng(5)
    n_p = 12
    params = {"alpha": rng.uniform(0.2, 0.6, n_p), "beta": rng.uniform(2, 6, n_p)}
    choices, outcomes, valid = simulate_bandit("rw", params, reversal_schedule(80), rng, 0.05)
    data = as_task_data(choices, outcomes, valid)
    model = REGISTRY["rw"]
    args = (model, data.choices, data.outcomes, data.mask, data.group_index, 1, 2, "sequential")
    point = prior_median_point(model, n_p, 1)
    start = advi_start(hierarchical_model, args, point, jax.random.PRNGKey(1), chains=3)
    assert start is not None
    assert set(start.init_params) == set(point)
    for name, value in start.init_params.items():
        assert value.shape == (3, *np.shape(point[name]))
        assert np.all(np.isfinite(value))
        assert not np.allclose(value[0], value[1])  # chains start apart
    n_latent = sum(np.size(v) for v in point.values())
    assert start.inverse_mass_matrix.shape == (n_latent,)
    assert np.all(np.asarray(start.inverse_mass_matrix) > 0)
    assert np.isfinite(start.elbo)


def test_prior_median_point_is_numpyros_median_start() -> None:
    """Agrees with NumPyro's own init_to_median on the unconstrained scale."""
    from numpyro.infer import init_to_median
    from numpyro.infer.util import initialize_model

    model = REGISTRY["rw_persev"]
    n_p, n_g = 5, 2
    z = np.zeros((n_p, 4), np.int32)
    args = (model, z, z.astype(np.float32), z.astype(bool), np.array([0, 1, 0, 1, 1]), n_g, 2)
    info = initialize_model(
        jax.random.PRNGKey(0),
        hierarchical_model,
        model_args=args,
        init_strategy=init_to_median(num_samples=20001),
    )
    ours = prior_median_point(model, n_p, n_g)
    assert set(ours) == set(info.param_info.z)
    for name, value in info.param_info.z.items():
        np.testing.assert_allclose(np.asarray(ours[name]), np.asarray(value), atol=0.03)


def test_fit_falls_back_or_uses_uniform_start() -> None:
    """``init: uniform`` still samples (the pre-ADVI behaviour), and the setting is recorded."""
    rng = np.random.default_rng(9)
    params = {"alpha": rng.uniform(0.2, 0.6, 4), "beta": rng.uniform(2, 6, 4)}
    data = as_task_data(*simulate_bandit("rw", params, reversal_schedule(40), rng, 0.0))
    settings = SamplerSettings(chains=1, warmup=20, samples=20, init="uniform", device="cpu")
    idata = fit("rw", data, settings)
    assert idata.posterior.sizes["draw"] == 20
    assert '"init": "uniform"' in idata.posterior.attrs["sampler_settings"]
