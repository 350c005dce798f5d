"""Parameter recovery: data simulated (plain NumPy) from known group parameters are fitted
with real NUTS, and the posterior intervals of the group means must cover the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cogfit.fit import SamplerSettings, fit
from cogfit.names import site_name
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit

PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
TRUE_MU = {"alpha": {"fast": -0.1, "slow": -1.0}, "beta": {"fast": -0.9, "slow": -0.9}}
TRUE_SD = {"alpha": 0.3, "beta": 0.25}
BETA_UPPER = 20.0  # the rw model's default scaled-probit bound


@pytest.fixture(scope="module")
def recovery_fit():  # noqa: ANN201
    rng = np.random.default_rng(20261129)
    n_per_group, n_trials = 20, 150
    groups = np.repeat(["fast", "slow"], n_per_group)
    z = {p: rng.normal(size=groups.size) for p in TRUE_MU}
    mu = {p: np.array([TRUE_MU[p][g] for g in groups]) for p in TRUE_MU}
    params = {
        "alpha": PHI(mu["alpha"] + TRUE_SD["alpha"] * z["alpha"]),
        "beta": BETA_UPPER * PHI(mu["beta"] + TRUE_SD["beta"] * z["beta"]),
    }
    choices, outcomes, valid = simulate_bandit(
        "rw", params, reversal_schedule(n_trials, p_high=0.8, reversal_every=50), rng, 0.03
    )
    data = as_task_data(
        choices, outcomes, valid, group_index=groups == "slow", groups=("fast", "slow")
    )
    settings = SamplerSettings(chains=2, warmup=400, samples=400, seed=7, device="cpu")
    return fit("rw", data, settings, dataset="recovery"), params


@pytest.mark.slow
@pytest.mark.parametrize("param", sorted(TRUE_MU))
def test_group_means_cover_truth(recovery_fit, param: str) -> None:  # noqa: ANN001
    idata, _ = recovery_fit
    draws = idata.posterior[site_name(param, "mu")]
    for group, truth in TRUE_MU[param].items():
        d = draws.sel(group=group).values.ravel()
        lo, hi = np.quantile(d, [0.005, 0.995])
        assert lo <= truth <= hi, (
            f"{draws.name}[{group}]: 99% interval [{lo:.2f}, {hi:.2f}] misses {truth}"
        )


@pytest.mark.slow
def test_group_difference_in_the_true_direction(recovery_fit) -> None:  # noqa: ANN001
    idata, _ = recovery_fit
    nat = idata.posterior[site_name("alpha", "mu_natural")]
    diff = (nat.sel(group="fast") - nat.sel(group="slow")).values.ravel()
    assert (diff > 0).mean() > 0.99


@pytest.mark.slow
def test_participant_estimates_track_truth(recovery_fit) -> None:  # noqa: ANN001
    idata, truth = recovery_fit
    est = idata.posterior[site_name("alpha", "theta")].mean(("chain", "draw")).values
    assert np.corrcoef(est, truth["alpha"])[0, 1] > 0.6
    assert int(idata.sample_stats["diverging"].sum()) == 0
