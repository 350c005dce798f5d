"""Diagnostics on synthetic posteriors whose good or bad convergence we control exactly."""

from __future__ import annotations

import logging
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from synthetic import GROUPS, PARTICIPANTS, make_idata

from cogfit.diagnostics import (
    Thresholds,
    check,
    classify_variable,
    run_diagnose,
    summarise,
)
from cogfit.errors import CogfitError, ConfigError
from cogfit.io import write_netcdf


@pytest.fixture(scope="module")
def good() -> az.InferenceData:
    return make_idata("good")


@pytest.fixture(scope="module")
def bad() -> az.InferenceData:
    return make_idata("bad", seed=1)


def _rows(table: pd.DataFrame, name: str) -> pd.DataFrame:
    return table[table["check"] == name].set_index("scope")


def test_good_fit_passes_every_check(good: az.InferenceData) -> None:
    table = check(good, Thresholds())
    assert table["passed"].all(), table[~table["passed"]]
    assert table["check"].iloc[-1] == "overall"
    assert set(table["check"]) == {
        "r_hat",
        "ess_bulk",
        "ess_tail",
        "divergences",
        "treedepth_saturation",
        "ebfmi",
        "overall",
    }
    assert set(_rows(table, "ebfmi").index) == {f"chain {c}" for c in range(4)}


def test_bad_fit_fails_rhat_and_divergences_with_right_counts(bad: az.InferenceData) -> None:
    table = check(bad, Thresholds())
    diverging = bad.sample_stats["diverging"].values
    divergences = _rows(table, "divergences")
    for chain in range(diverging.shape[0]):
        assert divergences.loc[f"chain {chain}", "value"] == np.count_nonzero(diverging[chain])
    assert divergences.loc["all", "value"] == np.count_nonzero(diverging) == 10
    assert not divergences.loc["chain 1", "passed"] and divergences.loc["chain 0", "passed"]
    r_hat = _rows(table, "r_hat").loc["all"]
    assert not r_hat["passed"] and r_hat["value"] > 1.5
    assert r_hat["worst"].startswith(("alpha", "beta")) and r_hat["rule"] == "≤ 1.01"
    assert not _rows(table, "ebfmi").loc["chain 0", "passed"]
    overall = table.iloc[-1]
    assert overall["check"] == "overall" and not overall["passed"]
    assert "divergences (chain 1)" in overall["worst"] and "r_hat (all)" in overall["worst"]


@pytest.mark.parametrize("depth_limit", [8, None])
def test_treedepth_saturation_matches_numpy(depth_limit: int | None) -> None:
    idata = make_idata("bad", max_tree_depth=depth_limit, n_draws=200)
    table = _rows(check(idata, Thresholds()), "treedepth_saturation")
    depth = idata.sample_stats["tree_depth"].values
    limit = depth_limit or 10  # fallback when the fit did not record it
    assert table.loc["all", "value"] == pytest.approx(np.count_nonzero(depth >= limit) / depth.size)
    for chain in range(depth.shape[0]):
        expected = np.count_nonzero(depth[chain] >= limit) / depth.shape[1]
        assert table.loc[f"chain {chain}", "value"] == pytest.approx(expected)


def test_summary_has_one_labelled_row_per_scalar(good: az.InferenceData) -> None:
    summary = summarise(good, hdi_prob=0.9)
    n_scalars = sum(int(np.prod(v.shape[2:])) for v in good.posterior.data_vars.values())
    assert len(summary) == n_scalars == 2 * (3 * len(GROUPS) + 2 * len(PARTICIPANTS))
    assert summary["label"].is_unique
    row = summary.set_index("label").loc["alpha_mu[control]"]
    assert (row["variable"], row["parameter"], row["level"]) == ("alpha_mu", "alpha", "group")
    assert row["group"] == "control" and pd.isna(row["participant"])
    assert row["r_hat"] == pytest.approx(1.0, abs=0.01)
    assert row["hdi_low"] < row["mean"] < row["hdi_high"]
    p03 = summary.set_index("label").loc["beta[p03]"]
    assert (p03["parameter"], p03["level"], p03["participant"]) == ("beta", "participant", "p03")
    offsets = summary[summary["variable"] == "beta_offset"]
    assert list(offsets["participant"]) == PARTICIPANTS
    assert (offsets["level"] == "participant").all()
    assert (summary["hdi_prob"] == 0.9).all()


def test_classify_variable_tells_prefixes_apart() -> None:
    params = ["alpha", "alpha_pos", "beta"]
    assert classify_variable("alpha_pos_mu", params) == ("alpha_pos", "group")
    assert classify_variable("alpha_mu_natural", params) == ("alpha", "group")
    assert classify_variable("alpha_pos", params) == ("alpha_pos", "participant")
    assert classify_variable("alpha_pos_offset", params) == ("alpha_pos", "participant")
    assert classify_variable("alpha_pos_natural", params) == ("alpha_pos_natural", "group")


def test_summary_needs_the_recorded_parameters() -> None:
    """The parameters come from the posterior's attribute, never from its variable names."""
    bare = make_idata(n_draws=20, n_chains=2)
    del bare.posterior.attrs["parameters"]
    with pytest.raises(CogfitError, match="'parameters' attribute.*cogfit fit step"):
        summarise(bare)


def test_thresholds_from_config() -> None:
    t = Thresholds.from_config({"rhat_max": 1.05, "max_divergences": 3})
    assert (t.rhat_max, t.max_divergences, t.ess_bulk_min) == (1.05, 3, 400)
    assert Thresholds.from_config(None) == Thresholds()
    with pytest.raises(ConfigError, match="rhat_mx"):
        Thresholds.from_config({"rhat_mx": 1.05})
    with pytest.raises(ConfigError, match="number"):
        Thresholds.from_config({"ess_bulk_min": True})
    with pytest.raises(ConfigError, match="integer"):
        Thresholds.from_config({"max_divergences": 1.5})
    # hdi_prob and on_fail belong to the same section: accepted, and run_diagnose's
    assert Thresholds.from_config({"hdi_prob": 0.9, "on_fail": "error"}) == Thresholds()


def _paths(tmp_path: Path) -> dict[str, Path]:
    names = ("summary.parquet", "diagnostics.parquet", "trace.png", "rank.png")
    return dict(
        zip(
            ("summary_path", "diagnostics_path", "trace_path", "rank_path"),
            (tmp_path / n for n in names),
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def posterior_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("posteriors")
    files = {}
    for kind in ("good", "bad"):
        files[kind] = str(root / f"{kind}.nc")
        write_netcdf(make_idata(kind, n_draws=200, seed=2), files[kind])
    return files


def test_run_diagnose_error_raises_before_diagnostics(
    posterior_files: dict[str, str], tmp_path: Path
) -> None:
    paths = _paths(tmp_path)
    with pytest.raises(CogfitError, match="divergences"):
        run_diagnose(
            posterior_files["bad"], **paths, thresholds=Thresholds(), hdi_prob=0.94, on_fail="error"
        )
    assert not paths["diagnostics_path"].exists()


def test_run_diagnose_warn_writes_readable_files(
    posterior_files: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _paths(tmp_path)
    with caplog.at_level(logging.WARNING):
        ok = run_diagnose(
            posterior_files["bad"], **paths, thresholds=Thresholds(), hdi_prob=0.94, on_fail="warn"
        )
    assert ok is False
    assert "FAILED" in caplog.text and "r_hat" in caplog.text
    assert all(p.stat().st_size > 0 for p in paths.values())
    assert paths["trace_path"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    diagnostics = pd.read_parquet(paths["diagnostics_path"])
    assert not diagnostics.set_index("check").loc["overall", "passed"]
    summary = pd.read_parquet(paths["summary_path"])
    assert "alpha_mu[patient]" in set(summary["label"])


def test_run_diagnose_good_fit_returns_true(
    posterior_files: dict[str, str], tmp_path: Path
) -> None:
    thresholds = Thresholds(ess_bulk_min=100, ess_tail_min=100, rhat_max=1.02)
    paths = _paths(tmp_path)
    assert run_diagnose(
        posterior_files["good"], **paths, thresholds=thresholds, hdi_prob=0.9, on_fail="error"
    )
    assert pd.read_parquet(paths["diagnostics_path"])["passed"].all()


@pytest.mark.parametrize("hdi_prob", [0.0, 1.0, 1.5])
def test_summary_refuses_hdi_prob_outside_the_schemas_range(
    good: az.InferenceData, hdi_prob: float
) -> None:
    with pytest.raises(ConfigError, match=r"^config key diagnostics\.hdi_prob: .*> 0 and < 1"):
        summarise(good, hdi_prob=hdi_prob)


def test_run_diagnose_rejects_unknown_on_fail(
    posterior_files: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"^config key diagnostics\.on_fail: 'ignore'"):
        run_diagnose(
            posterior_files["good"],
            **_paths(tmp_path),
            thresholds=Thresholds(),
            hdi_prob=0.9,
            on_fail="ignore",
        )
