"""The marginal per-participant likelihood against Gauss-Hermite quadrature of the same
integral (likelihoods written out in NumPy), its invariances, and the marginal.nc stage.

Tolerances: the importance-sampling estimate of p has relative variance about
1/ESS - 1/M (Kish's ESS of the normalised weights), so log p_hat has a standard error of
about sqrt(1/ESS); each estimate must lie within 5 of them of the quadrature value, and
their mean absolute error within 1.5 (a mean of many |N(0, se)| is 0.8 se).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import arviz as az
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp
from scipy.stats import norm

from cogfit.data import TaskData, from_arrays
from cogfit.errors import ConfigError, DataError
from cogfit.marginal import (
    ESS_QUANTILE,
    CompareSettings,
    LowQuantile,
    marginal_log_lik,
    population,
    proposal_from_values,
    run_marginal,
)
from cogfit.models import get_model
from cogfit.models.base import BehaviouralModel, ParamSpec
from cogfit.models.catalog import BANDIT_COLUMNS
from cogfit.models.spec import ModelSpec
from cogfit.names import OBSERVED
from cogfit.schema import section_defaults
from cogfit.simulate import choice_probabilities, simulate_bandit, update_values

#: a choice bias: P(choice 1) = sigmoid(b), nothing learnt (the state is unused)
BIAS = BehaviouralModel(
    spec=ModelSpec(
        name="bias",
        description="a fixed bias towards option 1",
        task="",
        params=(ParamSpec("b", "identity"),),
        latent_names=(),
        affine=False,
        reference="",
        columns=BANDIT_COLUMNS[:1],  # the choice only
    ),
    init=lambda p, k: jnp.zeros(()),
    update=lambda state, p, trial: state,
    logits=lambda state, p, trial: jnp.stack([jnp.zeros_like(p["b"]), p["b"]]),
    latents=lambda state, p, trial: {},
)


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log weights of E[f(z)], z ~ N(0, 1), as sum(exp(log_w) * f(nodes))."""
    nodes, weights = hermegauss(n)
    keep = weights > 0
    return nodes[keep], np.log(weights[keep]) - 0.5 * np.log(2 * np.pi)


def bias_log_lik(b: np.ndarray, choices: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log p(choices | b) for an array of b: n1 log sigmoid(b) + n0 log sigmoid(-b)."""
    n1 = np.sum((choices == 1) & mask)
    n0 = np.sum((choices == 0) & mask)
    return -n1 * np.logaddexp(0.0, -b) - n0 * np.logaddexp(0.0, b)


def bias_reference(data: TaskData, mu: np.ndarray, sigma: np.ndarray, n: int) -> np.ndarray:
    """log ∫ p(y_i | mu + z sigma) N(z) dz [S, P] by n-node quadrature; mu, sigma [S, G]."""
    nodes, log_w = gauss_hermite(n)
    out = np.empty((mu.shape[0], data.n_participants))
    for s in range(mu.shape[0]):
        for i, g in enumerate(data.group_index):
            b = mu[s, g] + sigma[s, g] * nodes
            out[s, i] = logsumexp(log_w + bias_log_lik(b, data.trials["choice"][i], data.mask[i]))
    return out


def rw_log_lik(alpha: np.ndarray, beta: np.ndarray, data: TaskData, i: int) -> np.ndarray:
    """log p(participant i's choices) at every (alpha, beta) pair [N], by the simulator's
    update and choice rule (the NumPy implementation)."""
    n = alpha.size
    values, last = np.zeros((n, 2)), np.zeros((n, 2))
    total = np.zeros(n)
    for t in range(data.n_trials):
        if not data.mask[i, t]:
            continue
        choice = np.full(n, data.trials["choice"][i, t])
        probs = choice_probabilities(values, last, beta, np.zeros(n))
        total += np.log(probs[np.arange(n), choice])
        outcome, valid = np.full(n, data.trials["outcome"][i, t]), np.ones(n, bool)
        values = update_values(values, choice, outcome, valid, alpha, alpha)
    return total


def rw_reference(
    data: TaskData, draws: dict[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log ∫∫ p(y_i | alpha, beta) N(z) dz [S, P] on an n x n tensor Gauss-Hermite grid,
    and each participant's posterior mean [P, 2] and covariance [P, 2, 2] of the
    unconstrained parameters, averaged over the draws."""
    nodes, log_w = gauss_hermite(n)
    za, zb = (g.ravel() for g in np.meshgrid(nodes, nodes, indexing="ij"))
    log_w2 = (log_w[:, None] + log_w[None, :]).ravel()
    n_s, n_p = draws["alpha_mu"].shape[0], data.n_participants
    out, first, second = np.empty((n_s, n_p)), np.zeros((n_p, 2)), np.zeros((n_p, 2, 2))
    for s in range(n_s):
        for i, g in enumerate(data.group_index):
            xa = draws["alpha_mu"][s, g] + draws["alpha_sigma"][s, g] * za
            xb = draws["beta_mu"][s, g] + draws["beta_sigma"][s, g] * zb
            log_joint = log_w2 + rw_log_lik(norm.cdf(xa), 20.0 * norm.cdf(xb), data, i)
            out[s, i] = logsumexp(log_joint)
            weights = np.exp(log_joint - out[s, i])
            x = np.stack([xa, xb], axis=-1)
            first[i] += weights @ x / n_s
            second[i] += np.einsum("n,nd,ne->de", weights, x, x) / n_s
    return out, first, second - np.einsum("pd,pe->pde", first, first)


def assert_within_is_error(estimate: np.ndarray, reference: np.ndarray, ess: np.ndarray) -> None:
    """Every estimate within 5 standard errors sqrt(1/ESS), their mean within 1.5."""
    se = np.sqrt(1.0 / ess)[None, :]
    error = np.abs(estimate - reference)
    assert (error <= 5 * se).all(), (error / se).max()
    assert (error / se).mean() <= 1.5


@pytest.fixture
def bias_data() -> TaskData:
    rng = np.random.default_rng(3)
    choices = (rng.random((4, 12)) < [[0.2], [0.5], [0.8], [0.9]]).astype(np.int32)
    mask = rng.random((4, 12)) > 0.2
    data = from_arrays(
        {"choice": choices, "outcome": np.zeros((4, 12))},
        mask,
        group_index=np.array([0, 1, 0, 1], np.int32),
        groups=("g0", "g1"),
        n_options=2,
    )
    return replace(data, participants=("a", "b", "c", "d"))


@pytest.fixture(scope="module")
def rw_data() -> TaskData:
    """Three participants of rw, 10 trials, some missed, two groups."""
    rng = np.random.default_rng(8)
    params = {"alpha": np.array([0.2, 0.5, 0.7]), "beta": np.array([2.0, 5.0, 8.0])}
    probs = np.tile([0.8, 0.2], (10, 1))
    choices, outcomes, valid = simulate_bandit("rw", params, probs, rng, missing_prob=0.15)
    data = from_arrays(
        {"choice": choices, "outcome": outcomes},
        valid,
        group_index=np.array([0, 1, 1], np.int32),
        groups=("g0", "g1"),
        n_options=2,
    )
    assert data.participants == ("p0", "p1", "p2")
    return data


#: five draws of two groups' parameters, the last with a group sd of alpha near 0 (the
#: integrand a thin slice in alpha)
RW_DRAWS = {
    "alpha_mu": np.array([[-0.5, 0.2], [0.0, -1.0], [0.8, 0.3], [-0.2, 0.0], [0.3, 0.5]]),
    "alpha_sigma": np.array([[0.5, 1.2], [0.2, 0.8], [1.0, 0.05], [0.6, 0.6], [0.3, 1e-3]]),
    "beta_mu": np.array([[-1.0, -0.5], [-0.8, 0.0], [-1.5, -1.0], [-0.6, -0.9], [0.2, -1.2]]),
    "beta_sigma": np.array([[0.5, 0.3], [1.0, 0.1], [0.2, 0.9], [0.7, 0.4], [1.2, 0.5]]),
}


def test_one_parameter_model_matches_quadrature(
    bias_data: TaskData, caplog: pytest.LogCaptureFixture
) -> None:
    mu = np.array([[0.5, -1.0], [0.0, 0.3], [1.2, -0.5]])
    sigma = np.array([[0.3, 1.5], [2.0, 0.1], [0.8, 0.8]])
    reference = bias_reference(bias_data, mu, sigma, 200)
    assert np.allclose(reference, bias_reference(bias_data, mu, sigma, 300), atol=1e-9)
    n_samples = 4000
    with caplog.at_level(logging.INFO, logger="cogfit.marginal"):
        log_lik, ess = marginal_log_lik(
            BIAS, bias_data, {"b_mu": mu, "b_sigma": sigma}, n_samples, seed=0
        )
    assert log_lik.shape == (3, 4) and ess.shape == (4,)
    assert ((ess > 0) & (ess <= n_samples)).all()
    assert_within_is_error(log_lik, reference, ess)
    assert "smallest importance-sampling ESS" in caplog.text


@pytest.fixture(scope="module")
def rw_quadrature(rw_data: TaskData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # a large beta makes the choice rule steep, so the grid needs many nodes to converge
    reference = rw_reference(rw_data, RW_DRAWS, 100)
    assert np.allclose(reference[0], rw_reference(rw_data, RW_DRAWS, 140)[0], atol=1e-4)
    return reference


def test_rw_matches_two_dimensional_quadrature(rw_data: TaskData, rw_quadrature: tuple) -> None:
    """Without a fit's proposal: every draw's component is its population."""
    n_samples = 4000
    log_lik, ess = marginal_log_lik(get_model("rw"), rw_data, RW_DRAWS, n_samples, seed=1)
    assert ((ess > 0) & (ess <= n_samples)).all()
    assert_within_is_error(log_lik, rw_quadrature[0], ess)


def test_a_posterior_proposal_matches_quadrature(rw_data: TaskData, rw_quadrature: tuple) -> None:
    """With a proposal from posterior draws of ``x`` (Gaussian draws at the quadrature's
    posterior moments), including the draw whose alpha sd is 1e-3: the estimate still
    matches quadrature, with a higher ESS than without the proposal."""
    reference, mean, cov = rw_quadrature
    rng = np.random.default_rng(5)
    x = np.stack(
        [rng.multivariate_normal(m, c, 2000) for m, c in zip(mean, cov, strict=True)], axis=1
    )
    stacked = [
        np.stack([RW_DRAWS[f"{p}_{r}"] for p in ("alpha", "beta")], 1) for r in ("mu", "sigma")
    ]
    proposal = proposal_from_values(x, *population(*stacked, rw_data.group_index))
    model = get_model("rw")
    log_lik, ess = marginal_log_lik(model, rw_data, RW_DRAWS, 1000, seed=2, proposal=proposal)
    assert_within_is_error(log_lik, reference, ess)
    _, flat_ess = marginal_log_lik(model, rw_data, RW_DRAWS, 1000, seed=2)
    assert (ess > flat_ess).all()


def test_the_likelihoods_approximation_divides_the_population_out() -> None:
    """For a Gaussian likelihood N(a, H^-1) and population N(m0, diag s0^2) the posterior
    is Gaussian; from its draws the proposal recovers H and the shift H a (and where the
    likelihood is flat in a direction, a curvature of 0 there)."""
    rng = np.random.default_rng(0)
    h = np.array([[[4.0, 1.0], [1.0, 2.0]], [[3.0, 0.0], [0.0, 0.0]]])
    a, m0, s0 = np.array([[0.5, -1.0], [1.0, 0.0]]), np.array([[0.0, 0.2]] * 2), np.ones((2, 2))
    prior = np.eye(2) / s0[:, :, None] ** 2
    cov = np.linalg.inv(h + prior)
    mean = np.einsum("pde,pe->pd", cov, np.einsum("pde,pe->pd", h, a) + m0 / s0**2)
    x = np.stack(
        [rng.multivariate_normal(m, c, 200_000) for m, c in zip(mean, cov, strict=True)], axis=1
    )
    proposal = proposal_from_values(x, m0, s0)
    np.testing.assert_allclose(proposal.curvature, h, atol=0.05)
    np.testing.assert_allclose(proposal.shift, np.einsum("pde,pe->pd", h, a), atol=0.05)
    np.testing.assert_allclose(proposal.mean, mean, atol=0.01)


def test_masked_trials_add_nothing(rw_data: TaskData) -> None:
    """Three masked trials with arbitrary choices and outcomes inserted change nothing."""
    at = [0, 4, rw_data.n_trials]

    def widen(x: np.ndarray, fill: object) -> np.ndarray:
        return np.insert(x, at, fill, axis=1)

    # masked cells hold arbitrary values, and even claim to have them (has_*)
    fill = {"valid": False, "choice": 1, "outcome": 1.0}
    padded = replace(
        rw_data,
        trials={k: widen(v, fill.get(k, True)) for k, v in rw_data.trials.items()},
        block_start=widen(rw_data.block_start, False),
    )
    assert set(padded.trials) == {"valid", "choice", "outcome", "has_choice", "has_outcome"}
    model = get_model("rw")
    plain = marginal_log_lik(model, rw_data, RW_DRAWS, 100, seed=4)
    wide = marginal_log_lik(model, padded, RW_DRAWS, 100, seed=4)
    for a, b in zip(plain, wide, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("budget", [160, 1000, 1200])
def test_results_do_not_depend_on_the_chunks(rw_data: TaskData, budget: int) -> None:
    """50 samples of 10 trials, 2 parameters: 160, one participant and one draw per chunk;
    1000, participants in chunks of 2 (the last padded), draws of all 5; 1200, all
    participants, draws in chunks of 4 (the last padded). All against one chunk."""
    model = get_model("rw")
    whole = marginal_log_lik(model, rw_data, RW_DRAWS, 50, seed=2)
    chunked = marginal_log_lik(model, rw_data, RW_DRAWS, 50, seed=2, budget=budget)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_draws", [1, 2, 37, 500])
def test_the_low_quantile_is_numpys(n_draws: int) -> None:
    """Fed in uneven chunks of draws and columns, from the smallest values only: equal to
    np.quantile over the whole [draws, columns] array, exactly; NaN where a column has one."""
    rng = np.random.default_rng(n_draws)
    values = rng.gamma(2.0, 10.0, (n_draws, 9)).astype(np.float32)
    values[:, 3] = values[0, 3]  # ties
    values[n_draws // 2, 5] = np.nan
    for q in (ESS_QUANTILE, 0.5, 1.0):
        low = LowQuantile(n_draws, 9, q)
        for columns in (slice(0, 4), slice(4, 9)):
            cuts = np.unique(np.r_[0, rng.integers(0, n_draws + 1, 3), n_draws])
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
                low.add(columns, values[lo:hi, columns])
        want = np.quantile(values.astype(float), q, axis=0)
        np.testing.assert_array_equal(low.value(), want)
        assert np.isnan(low.value()[5]) and low.smallest.shape[0] <= q * n_draws + 2


def test_bad_draws_are_data_errors(rw_data: TaskData) -> None:
    model = get_model("rw")
    missing = {k: v for k, v in RW_DRAWS.items() if k != "beta_sigma"}
    with pytest.raises(DataError, match="lack 'beta_sigma'"):
        marginal_log_lik(model, rw_data, missing, 10, seed=0)
    wrong = dict(RW_DRAWS, beta_sigma=RW_DRAWS["beta_sigma"][:, :1])
    with pytest.raises(DataError, match=r"'beta_sigma': shape \(5, 1\), expected \[draws, 2\]"):
        marginal_log_lik(model, rw_data, wrong, 10, seed=0)


def test_settings_defaults_are_the_schemas() -> None:
    assert asdict(CompareSettings()) == section_defaults("compare")
    assert CompareSettings.from_config(None) == CompareSettings()
    assert CompareSettings.from_config({"draws": 20}).draws == 20
    with pytest.raises(ConfigError, match="compare.method"):
        CompareSettings.from_config({"method": "waic"})


SETTINGS = CompareSettings(draws=500, importance_samples=40)


def test_run_marginal_writes_what_loo_reads(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "marginal.nc"
    run_marginal(analysis_fits["rw"], out, SETTINGS, seed=3)
    idata = az.from_netcdf(str(out))
    source = az.from_netcdf(str(analysis_fits["rw"]))
    assert {"posterior", "log_likelihood", "constant_data"} <= set(idata.groups())
    n_chains, n_draws = source.posterior.sizes["chain"], source.posterior.sizes["draw"]
    assert n_chains * n_draws == 500  # draws=500 keeps every draw
    for name in ("alpha_mu", "alpha_sigma", "beta_mu", "beta_sigma"):
        assert idata.posterior[name].dims == ("chain", "draw", "group")
        np.testing.assert_array_equal(idata.posterior[name].values, source.posterior[name].values)
    log_lik = idata.log_likelihood[OBSERVED]
    assert log_lik.dims == ("chain", "draw", "participant")
    assert log_lik.shape == (n_chains, n_draws, 16)
    assert np.isfinite(log_lik.values).all() and (log_lik.values < 0).all()
    assert list(idata.posterior.coords["group"].values) == ["control", "patient"]
    participants = list(source.posterior.coords["participant"].values)
    assert list(log_lik.coords["participant"].values) == participants
    ess = idata.constant_data["is_ess"].values
    assert ((ess > 0) & (ess <= SETTINGS.importance_samples)).all()
    assert idata.constant_data["scored"].values.all()
    for group in ("posterior", "log_likelihood", "constant_data"):
        attrs = getattr(idata, group).attrs
        assert (attrs["model"], attrs["dataset"], attrs["method"]) == ("rw", "sim", "psis")
        assert (attrs["fold"], attrs["importance_samples"], attrs["draws"]) == (-1, 40, 500)
        assert attrs["data_hash"] == source.posterior.attrs["data_hash"]
        assert attrs["model_hash"] == source.posterior.attrs["model_hash"]
    marginal = az.loo(idata, pointwise=True)
    assert np.isfinite(marginal.elpd_loo)
    # the point of the stage: PSIS-LOO over participants is reliable on the marginal
    # likelihood where it is not on the conditional one
    with warnings.catch_warnings():  # its Pareto k warning is the expected finding
        warnings.simplefilter("ignore")
        conditional = az.loo(source, pointwise=True)
    assert (marginal.pareto_k.values > 0.7).sum() <= 1
    assert (marginal.pareto_k.values > 0.7).sum() < (conditional.pareto_k.values > 0.7).sum()


def test_draws_are_thinned_evenly_within_chains(
    analysis_fits: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "marginal.nc"
    run_marginal(analysis_fits["rw"], out, CompareSettings(draws=40, importance_samples=8), 3)
    idata = az.from_netcdf(str(out))
    source = az.from_netcdf(str(analysis_fits["rw"])).posterior
    kept = np.linspace(0, source.sizes["draw"] - 1, 20).round().astype(int)  # 20 per chain
    assert idata.posterior.attrs["draws"] == 40
    assert idata.posterior.coords["draw"].values.tolist() == kept.tolist()
    np.testing.assert_array_equal(
        idata.posterior["alpha_mu"].values, source["alpha_mu"].values[:, kept]
    )


def fold_posterior(source: Path, path: Path, fold: int, held: list[str]) -> Path:
    """A copy of a fit's posterior.nc marked as fold ``fold`` holding out ``held``."""
    idata = az.from_netcdf(str(source))
    for group in ("posterior", "sample_stats", "log_likelihood"):
        getattr(idata, group).attrs.update({"fold": fold, "held_out": json.dumps(held)})
    idata.to_netcdf(str(path))
    return path


def test_a_fold_scores_exactly_its_held_out_participants(
    analysis_fits: dict[str, Path], tmp_path: Path
) -> None:
    held = ["s03", "s10"]
    posterior = fold_posterior(analysis_fits["rw"], tmp_path / "posterior.nc", 1, held)
    out = tmp_path / "folds" / "1" / "marginal.nc"
    settings = CompareSettings(method="kfold", draws=40, importance_samples=400)
    full = analysis_fits["rw"]
    run_marginal(posterior, out, settings, 0, analysis_fits["trials"], proposal_path=full)
    idata = az.from_netcdf(str(out))
    participants = list(idata.constant_data.coords["participant"].values)
    scored = idata.constant_data["scored"].values
    assert [p for p, s in zip(participants, scored, strict=True) if s] == held
    log_lik = idata.log_likelihood[OBSERVED].values
    assert np.isfinite(log_lik[..., scored]).all() and np.isnan(log_lik[..., ~scored]).all()
    ess = idata.constant_data["is_ess"].values
    assert (ess[scored] > 0).all() and np.isnan(ess[~scored]).all()
    attrs = idata.log_likelihood.attrs
    assert (attrs["method"], attrs["fold"], json.loads(attrs["held_out"])) == ("kfold", 1, held)
    # this "fold" has the full fit's group draws, so its held-out participants' values are
    # the full fit's, within both estimates' importance-sampling errors
    everyone = run_marginal(full, tmp_path / "all.nc", replace(settings, method="psis"), 1)
    other = everyone.log_likelihood[OBSERVED].values[..., scored]
    other_ess = everyone.constant_data["is_ess"].values[scored]
    se = np.sqrt(1.0 / ess[scored] + 1.0 / other_ess)
    assert (np.abs(log_lik[..., scored] - other) <= 5 * se).all()


def test_fold_inputs_must_match(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    settings = CompareSettings(draws=4, importance_samples=4)
    posterior = fold_posterior(analysis_fits["rw"], tmp_path / "posterior.nc", 0, ["s01"])
    with pytest.raises(DataError, match="needs trials_path"):
        run_marginal(posterior, tmp_path / "m.nc", settings, seed=0)
    with pytest.raises(DataError, match="needs a fold's posterior"):
        run_marginal(analysis_fits["rw"], tmp_path / "m.nc", settings, 0, analysis_fits["trials"])
    trials = pd.read_parquet(analysis_fits["trials"])
    shorter = tmp_path / "trials.parquet"
    trials[trials["participant"] != "s05"].to_parquet(shorter)
    full = analysis_fits["rw"]
    with pytest.raises(DataError, match="participants differ from the fit's"):
        run_marginal(posterior, tmp_path / "m.nc", settings, 0, shorter, proposal_path=full)
    unknown = fold_posterior(analysis_fits["rw"], tmp_path / "other.nc", 0, ["s99"])
    with pytest.raises(DataError, match=r"held-out participant\(s\) \['s99'\]"):
        run_marginal(unknown, tmp_path / "m.nc", settings, 0, analysis_fits["trials"], full)
    with pytest.raises(DataError, match="needs proposal_path, the fit of all participants"):
        run_marginal(posterior, tmp_path / "m.nc", settings, 0, analysis_fits["trials"])
    with pytest.raises(DataError, match="proposals need the fit of all participants"):
        run_marginal(posterior, tmp_path / "m.nc", settings, 0, analysis_fits["trials"], posterior)
    assert not (tmp_path / "m.nc").exists()
