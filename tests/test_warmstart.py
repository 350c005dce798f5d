"""The ADVI start and the dense warm-up metric: checked against known posteriors and
covariances, and their use by fit()."""

from __future__ import annotations

import logging
import warnings

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from cogfit.data import from_arrays
from cogfit.fit import SamplerSettings, fit
from cogfit.hierarchical import hierarchical_model, prior_median_point
from cogfit.metric import plan_metric
from cogfit.models import get_model
from cogfit.models.catalog import DELTA_RULE_SPECS
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit
from cogfit.warmstart import advi_start, spiked_covariance, uniform_start

MODELS = {s.name: get_model(s.name) for s in DELTA_RULE_SPECS}


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
    model = MODELS["rw"]
    args = (model, data.scan_inputs(model), data.group_index, 1, 2, "sequential")
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

    model = MODELS["rw_persev"]
    n_p, n_g = 5, 2
    z = np.zeros((n_p, 4), np.int32)
    trials = from_arrays({"choice": z, "outcome": z.astype(np.float32)}, z.astype(bool))
    args = (model, trials.scan_inputs(model), np.array([0, 1, 0, 1, 1]), n_g, 2)
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


def test_uniform_start_draws_as_numpyros_init_to_uniform() -> None:
    """Uniform on [-1, 1] in the unconstrained space, per chain and site."""
    shapes = {"b": (3,), "a": ()}
    draws = uniform_start(shapes, np.float32, jax.random.PRNGKey(2), 2000)
    assert {k: v.shape for k, v in draws.items()} == {"a": (2000,), "b": (2000, 3)}
    for value in draws.values():
        assert value.dtype == np.float32
        assert np.all(np.abs(value) <= 1.0)
        assert abs(value.mean()) < 0.05 and value.var() == pytest.approx(1 / 3, rel=0.1)
    assert not np.allclose(draws["b"][0], draws["b"][1])


@pytest.mark.parametrize("metric", ["diag", "dense"])
def test_fit_starts_uniformly_when_advi_fails(monkeypatch: pytest.MonkeyPatch, metric: str) -> None:
    """A failed ADVI start (None) leaves chains starting uniformly with a unit metric:
    the programs built for the ADVI start's shapes run with those values instead."""
    import cogfit.warmstart

    calls = []

    def failed(*args: object, **kwargs: object) -> None:
        calls.append(1)

    monkeypatch.setattr(cogfit.warmstart, "advi_start", failed)
    rng = np.random.default_rng(10)
    params = {"alpha": rng.uniform(0.2, 0.6, 6), "beta": rng.uniform(2, 6, 6)}
    data = as_task_data(*simulate_bandit("rw", params, reversal_schedule(60), rng, 0.0))
    settings = SamplerSettings(chains=2, warmup=40, samples=20, metric=metric, device="cpu")
    idata = fit("rw", data, settings)
    assert calls == [1]
    assert idata.posterior["alpha"].shape == (2, 20, 6)
    assert np.isfinite(idata.posterior["beta"].values).all()


def whitened_spread(estimate: np.ndarray, truth: np.ndarray) -> float:
    """How far estimate^-1 truth is from the identity: max |log eigenvalue|. This is what
    the metric costs NUTS (the step size follows the largest, trajectories the smallest)."""
    eig = np.linalg.eigvals(np.linalg.solve(estimate, truth)).real
    return float(np.max(np.abs(np.log(eig))))


def test_spiked_covariance_keeps_a_ridge_and_drops_noise() -> None:
    """Known covariance: a group mean tied to 80 offsets (the non-centred ridge; the
    mean's correlation with the offsets' average is about -0.9, as in a 200 x 200 fit)."""
    rng = np.random.default_rng(0)
    dim, n, chains = 81, 1200, 4
    loading = np.concatenate([[0.3], -0.1 * np.ones(dim - 1)])
    scales = np.concatenate([[0.02], rng.uniform(0.2, 0.6, dim - 1)])
    truth = np.diag(scales**2) + np.outer(loading, loading)
    draws = rng.multivariate_normal(np.zeros(dim), truth, size=n)
    draws += np.repeat(rng.normal(0, 5, (chains, dim)), n // chains, axis=0)  # chain offsets
    estimate = spiked_covariance(draws, chains)
    per_chain = draws.reshape(chains, -1, dim)
    centred = (per_chain - per_chain.mean(1, keepdims=True)).reshape(n, dim)
    sample = centred.T @ centred / (n - chains)
    diagonal = np.diag(np.diag(sample))
    ours = whitened_spread(estimate, truth)
    # closer than the raw sample covariance (noise removed) and far closer than a diagonal
    assert ours < 0.8 * whitened_spread(sample, truth)
    assert ours < 0.25 * whitened_spread(diagonal, truth)
    np.testing.assert_allclose(estimate, estimate.T)


def test_spiked_covariance_of_independent_draws_is_diagonal() -> None:
    rng = np.random.default_rng(1)
    scales = rng.uniform(0.1, 3.0, 40)
    draws = rng.normal(size=(2000, 40)) * scales
    estimate = spiked_covariance(draws)
    off = estimate - np.diag(np.diag(estimate))
    assert np.abs(off).max() < 0.05 * scales.min() ** 2 + 1e-12
    np.testing.assert_allclose(np.sqrt(np.diag(estimate)), scales, rtol=0.1)


@pytest.mark.parametrize(
    ("metric", "participants", "expected", "mass_block_dim"),
    [
        ("auto", 200, "dense", 404),  # 1500 draws for 2 x 202 coordinates: one mass block
        ("auto", 500, "mass_blocks", 502),  # 1500 draws >= 2 x 502: one per parameter
        ("auto", 1000, "diag", 0),  # too few draws per coordinate even per parameter
        ("diag", 20, "diag", 0),
        ("dense", 1000, "dense", 2004),  # asked for: dense anyway (with a warning)
        ("mass_blocks", 5000, "diag", 0),  # 5002 coordinates each: too large, whatever is asked
        ("mass_blocks", 20, "mass_blocks", 22),
    ],
)
def test_metric_plan_rules(
    metric: str, participants: int, expected: str, mass_block_dim: int
) -> None:
    settings = SamplerSettings(chains=4, warmup=1000, metric=metric)
    plan = plan_metric(settings, MODELS["rw"], participants, 1)
    assert (plan.kind, plan.mass_block_dim) == (expected, mass_block_dim)
    if expected == "diag":
        assert plan.dense_warmup == 0 and plan.mass_blocks == ()
        return
    assert plan.dense_warmup == 250
    sites = sorted(s for sites in plan.mass_blocks for s in sites)
    assert sites == sorted(f"{p}_{k}" for p in ("alpha", "beta") for k in ("mu", "sigma", "offset"))
    assert len(plan.mass_blocks) == (1 if expected == "dense" else 2)


def test_no_dense_phase_without_warmup_to_spare() -> None:
    settings = SamplerSettings(chains=1, warmup=3, metric="dense")
    assert plan_metric(settings, MODELS["rw"], 10, 1).kind == "diag"


def test_shortest_dense_warmup_skips_the_diagonal_estimate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Warm-up 5 with a dense metric: 4 iterations to estimate it, too few for a diagonal
    estimate from one draw per chain (a variance needs two); the dense one still comes
    from two draws per chain and the fit samples."""
    rng = np.random.default_rng(3)
    params = {"alpha": rng.uniform(0.2, 0.6, 6), "beta": rng.uniform(2, 6, 6)}
    data = as_task_data(*simulate_bandit("rw", params, reversal_schedule(40), rng, 0.0))
    settings = SamplerSettings(chains=2, warmup=5, samples=5, metric="dense", device="cpu")
    # a variance from one draw per chain is 0 / 0: NumPy would warn, and the metric be NaN
    with caplog.at_level(logging.INFO, logger="cogfit"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        idata = fit("rw", data, settings)
    assert "dense metric set from 2 draws per chain" in caplog.text
    alpha = idata.posterior["alpha"].values
    assert alpha.shape == (2, 5, 6)
    assert np.isfinite(alpha).all()


@pytest.mark.parametrize("metric", ["dense", "mass_blocks"])
def test_fit_with_dense_metric_logs_both_phases(
    metric: str, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(8)
    params = {"alpha": rng.uniform(0.2, 0.6, 10), "beta": rng.uniform(2, 6, 10)}
    data = as_task_data(*simulate_bandit("rw", params, reversal_schedule(150), rng, 0.0))
    settings = SamplerSettings(chains=2, warmup=200, samples=30, metric=metric, device="cpu")
    with caplog.at_level(logging.INFO, logger="cogfit"):
        idata = fit("rw", data, settings)
    text = "\n".join(caplog.messages)
    assert f"150 iterations to estimate a {metric} metric" in text
    assert f"{metric} metric set from 75 draws per chain" in text
    assert "iteration 200/230 (warm-up)" in text and "iteration 230/230 (sampling)" in text
    assert idata.posterior.sizes["draw"] == 30
    assert not bool(idata.sample_stats.diverging.any())
