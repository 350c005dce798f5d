"""Session fixtures shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import make_workdir, snakemake

from cogfit.runtime import configure_xla

# the XLA options the pipeline's fits run with (one CPU device, as tests always had);
# conftest is imported before any test module starts JAX
configure_xla(1)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline run locally once per session (also the reference for SLURM)."""
    work = make_workdir(tmp_path_factory.mktemp("e2e"))
    raw = (work / "data/example/bandit.csv").read_bytes()
    snakemake(work)
    assert (work / "data/example/bandit.csv").read_bytes() == raw, "raw data were modified"
    return work


#: the tiny real fits the analysis-stage tests share: simulated from rw_dual, whose two
#: learning rates differ clearly, in two groups with two blocks each (a reversal)
ANALYSIS_MODELS = ("rw", "rw_dual")
ANALYSIS_TRUTH = {"alpha_pos": (0.6, 0.5), "alpha_neg": (0.1, 0.1), "beta": (5.0, 4.0)}


@pytest.fixture(scope="session")
def analysis_fits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Cleaned trials (``trials``) and real NUTS fits of rw and rw_dual (``rw``,
    ``rw_dual``: posterior.nc paths) on 16 simulated participants x 80 trials in two
    groups, tiny sampler settings; fitted once per session."""
    import numpy as np
    import pandas as pd

    from cogfit.data import task_data_from_trials
    from cogfit.fit import SamplerSettings, fit
    from cogfit.io import write_netcdf, write_parquet
    from cogfit.simulate import reversal_schedule, simulate_bandit

    out = tmp_path_factory.mktemp("analysis")
    rng = np.random.default_rng(17)
    n_per_group, n_trials = 8, 80
    group = np.repeat([0, 1], n_per_group)
    params = {
        k: np.clip(np.asarray(v)[group] + rng.normal(0, 0.05, group.size), 0.02, None)
        for k, v in ANALYSIS_TRUTH.items()
    }
    params = {k: np.minimum(v, 0.98) if k != "beta" else v for k, v in params.items()}
    choices, outcomes, valid = simulate_bandit(
        "rw_dual", params, reversal_schedule(n_trials, 0.8, 40), rng, missing_prob=0.03
    )
    trials = pd.DataFrame(
        {
            "participant": np.repeat([f"s{i:02d}" for i in range(group.size)], n_trials),
            "group": np.repeat(np.array(["control", "patient"])[group], n_trials),
            "trial": np.tile(np.arange(1, n_trials + 1), group.size),
            "choice": pd.array(np.where(valid, choices, -1).ravel(), dtype="Int64"),
            "outcome": outcomes.ravel(),
            "missed": ~valid.ravel(),
            "block": np.tile(np.repeat([1, 2], n_trials // 2), group.size),
        }
    )
    trials.loc[trials["missed"], "choice"] = pd.NA
    paths = {"trials": out / "trials.parquet"}
    write_parquet(trials, paths["trials"])
    settings = SamplerSettings(chains=2, warmup=300, samples=250, seed=5, device="cpu")
    data = task_data_from_trials(trials, 2)
    for model in ANALYSIS_MODELS:
        paths[model] = out / f"{model}.nc"
        write_netcdf(fit(model, data, settings, dataset="sim"), paths[model])
    return paths
