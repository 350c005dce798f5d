"""Progress from inside the compiled warm-up + sampling loop, and the time split it gives."""

from __future__ import annotations

import logging

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS

import cogfit.progress as progress_module
from cogfit.fit import SamplerSettings, fit
from cogfit.progress import Progress, ReportingNUTS
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit


class FakeClock:
    """perf_counter that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_milestones_are_logged_once_every_chain_has_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = Progress(warmup=4, samples=6, chains=3, every=5)
    assert [i for i in range(1, 11) if progress.milestone(i)] == [4, 5, 10]
    with caplog.at_level(logging.INFO, logger="cogfit.progress"):
        for i in (4, 5, 4, 5, 10):  # two chains ahead, the third behind
            progress(np.int32(i))
        assert caplog.messages == []
        progress(4)
        assert len(caplog.messages) == 1
        assert "iteration 4/10 (warm-up) reached by all chains" in caplog.messages[0]
        progress(5)
        assert "iteration 5/10 (sampling) reached by all chains" in caplog.messages[1]


def test_vectorised_chains_call_once_per_milestone(caplog: pytest.LogCaptureFixture) -> None:
    """Vectorised chains (GPUs) run one program iteration for all chains and call back
    once with their minimum counter: each call is a milestone every chain has passed."""
    progress = Progress(warmup=4, samples=6, chains=4, chain_method="vectorized", every=5)
    with caplog.at_level(logging.INFO, logger="cogfit.progress"):
        for i in (4, 5, 10):
            progress(i)
    assert [m.split(" reached")[0] for m in caplog.messages] == [
        "iteration 4/10 (warm-up)",
        "iteration 5/10 (sampling)",
        "iteration 10/10 (sampling)",
    ]
    assert all("by all chains" in m for m in caplog.messages)


def test_time_split_parallel_and_sequential(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    parallel = Progress(warmup=10, samples=10, chains=2)
    for now, i in ((103.0, 10), (104.0, 10), (108.0, 20), (109.0, 20)):
        clock.now = now
        parallel(i)
    # warm-up ends when the last chain finishes it; sampling runs from there to the end
    assert parallel.split(109.0) == pytest.approx((4.0, 5.0))

    clock.now = 100.0
    sequential = Progress(warmup=10, samples=10, chains=2, chain_method="sequential")
    for now, i in ((103.0, 10), (105.0, 20), (108.0, 10), (109.0, 20)):
        clock.now = now
        sequential(i)
    # chains one after another: each chain's sampling time, summed
    assert sequential.split(109.0) == pytest.approx((6.0, 3.0))


def normal_model(y: np.ndarray) -> None:
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    sd = numpyro.sample("sd", dist.HalfNormal(2.0))
    with numpyro.plate("obs", y.shape[0]):
        numpyro.sample("y", dist.Normal(mu, sd), obs=y)


def test_reporting_nuts_draws_are_nuts_draws() -> None:
    """The callback reads the iteration counter only: same key, same draws as NUTS."""
    y = np.random.default_rng(0).normal(1.0, 2.0, 30).astype(np.float32)
    progress = Progress(warmup=30, samples=25, chains=1, every=20)
    draws = {}
    for name, kernel in (
        ("nuts", NUTS(normal_model)),
        ("ours", ReportingNUTS(normal_model, progress)),
    ):
        mcmc = MCMC(kernel, num_warmup=30, num_samples=25, progress_bar=False)
        mcmc.run(jax.random.PRNGKey(5), y)
        draws[name] = {k: np.asarray(v) for k, v in mcmc.get_samples().items()}
    for site in ("mu", "sd"):
        np.testing.assert_array_equal(draws["ours"][site], draws["nuts"][site])
    assert sorted(progress.counts) == [20, 30, 40, 55]  # every 20, end of warm-up, the end
    assert len(progress.warmup_ends) == 1 and len(progress.ends) == 1


def test_fit_logs_progress_and_splits_its_time(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(4)
    params = {"alpha": rng.uniform(0.2, 0.6, 5), "beta": rng.uniform(2, 6, 5)}
    data = as_task_data(*simulate_bandit("rw", params, reversal_schedule(40), rng, 0.0))
    settings = SamplerSettings(chains=2, warmup=30, samples=20, device="cpu")
    with caplog.at_level(logging.INFO, logger="cogfit"):
        idata = fit("rw", data, settings)
    text = "\n".join(caplog.messages)
    assert "iteration 30/50 (warm-up)" in text
    assert "iteration 50/50 (sampling)" in text
    attrs = idata.posterior.attrs
    assert attrs["sampling_s"] > 0 and attrs["warmup_s"] > 0
    assert attrs["warmup_s"] + attrs["sampling_s"] == pytest.approx(attrs["wall_time_s"])
    assert idata.posterior.sizes["draw"] == 20
