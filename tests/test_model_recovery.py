"""Model recovery in miniature: PSIS-LOO over participants' marginal likelihoods picks
the model the data were simulated from, or at least does not prefer a larger one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cogfit.comparison import run_compare
from cogfit.fit import SamplerSettings, fit
from cogfit.io import write_netcdf
from cogfit.marginal import CompareSettings, run_marginal
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit

pytestmark = pytest.mark.slow

MODELS = ("rw", "rw_dual")
#: few draws and importance samples: enough to rank two models this far apart
SETTINGS = CompareSettings(method="psis", draws=100, importance_samples=1000)


def compare(posteriors: dict[str, Path], out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Marginal files of both fits, then the comparison tables."""
    marginals = {}
    for model in MODELS:
        marginals[model] = [out / f"{model}_marginal.nc"]
        run_marginal(posteriors[model], marginals[model][0], SETTINGS, seed=3)
    table = run_compare(marginals, out / "cmp.parquet", out / "cmp_participants.parquet")
    return table.set_index("model"), pd.read_parquet(out / "cmp_participants.parquet")


@pytest.fixture(scope="module")
def rw_fits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both models fitted to data simulated from rw (one learning rate for gains and
    losses), 16 participants x 80 trials in two groups."""
    out = tmp_path_factory.mktemp("rw_truth")
    rng = np.random.default_rng(23)
    group = np.repeat([0, 1], 8)
    params = {
        "alpha": np.clip(np.array([0.35, 0.3])[group] + rng.normal(0, 0.05, 16), 0.05, 0.95),
        "beta": np.array([5.0, 4.0])[group] + rng.normal(0, 0.3, 16),
    }
    choices, outcomes, valid = simulate_bandit(
        "rw", params, reversal_schedule(80, 0.8, 40), rng, missing_prob=0.03
    )
    data = as_task_data(choices, outcomes, valid, group, ("control", "patient"))
    settings = SamplerSettings(chains=2, warmup=300, samples=250, seed=5, device="cpu")
    paths = {}
    for model in MODELS:
        paths[model] = out / f"{model}.nc"
        write_netcdf(fit(model, data, settings, dataset="sim_rw"), paths[model])
    return paths


def test_two_learning_rates_are_recovered(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    # the session's fits: data from rw_dual with alpha_pos ~0.6, alpha_neg ~0.1
    table, participants = compare(analysis_fits, tmp_path)
    assert table.loc["rw_dual", "rank"] == 0
    assert table.loc["rw", "elpd_diff"] > 2 * table.loc["rw", "diff_se"]
    assert table.loc["rw_dual", "weight"] > 0.5
    assert table.loc["rw_dual", "bms_pxp"] > 0.5
    assert (table["n_participants"] == 16).all() and len(participants) == 32
    assert np.isfinite(table["elpd"]).all() and np.isfinite(participants["is_ess"]).all()


def test_one_learning_rate_is_not_split(rw_fits: dict[str, Path], tmp_path: Path) -> None:
    table, _ = compare(rw_fits, tmp_path)
    if table.loc["rw_dual", "rank"] == 0:  # ahead, but within its uncertainty
        assert table.loc["rw", "elpd_diff"] < 2 * table.loc["rw", "diff_se"]
    assert np.isfinite(table["elpd"]).all()
