"""End to end: the real Snakefile on a temporary copy, tiny sampler settings, every artifact
opened with pandas or ArviZ; then the caching promises (-n idle, report-only reruns)."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, TINY_SAMPLER, jobs_planned, make_workdir, snakemake


@pytest.mark.slow
def test_clean_artifacts(pipeline: Path) -> None:
    trials = pd.read_parquet(pipeline / "results/example/clean/trials.parquet")
    parts = pd.read_parquet(pipeline / "results/example/clean/participants.parquet")
    truth = pd.read_csv(REPO / "data/example/true_parameters.csv", dtype=str)
    assert len(parts) == truth.shape[0] == 44
    excluded = parts[parts["excluded"]]
    assert list(excluded["participant"]) == ["sub-044"]
    assert "trials" in excluded["reason"].iloc[0]
    assert trials["participant"].nunique() == 43
    assert set(trials["choice"].dropna().unique()) == {0, 1}
    assert trials["missed"].sum() == trials["choice"].isna().sum() > 0
    assert not trials.duplicated(["participant", "trial"]).any()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["rw", "rw_dual"])
def test_fit_and_diagnostics_artifacts(pipeline: Path, model: str) -> None:
    out = pipeline / "results/example" / model
    idata = az.from_netcdf(out / "posterior.nc")
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"):
        assert group in idata.groups(), group
    post = idata.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    clean = pd.read_parquet(pipeline / "results/example/clean/trials.parquet")
    assert list(post["participant"].values) == sorted(clean["participant"].unique())
    assert list(post["group"].values) == ["control", "patient"]
    params = post.attrs["parameters"].split(",")
    for p in params:
        assert post[f"{p}_mu"].dims == ("chain", "draw", "group")
        assert post[f"{p}_mu_natural"].dims == ("chain", "draw", "group")
        assert post[f"{p}_offset"].dims == ("chain", "draw", "participant")
    assert idata.log_likelihood["choice"].dims == ("chain", "draw", "participant")
    assert (idata.log_likelihood["choice"].values < 0).all()
    obs = idata.observed_data["choice"].values
    mask = idata.constant_data["mask"].values.astype(bool)
    assert ((obs >= 0) == mask).all()
    assert int(mask.sum()) == int((~clean["missed"]).sum())
    for key in (
        "cogfit_version",
        "jax_version",
        "numpyro_version",
        "device",
        "xla_flags",
        "seed",
        "sampler_settings",
        "data_hash",
        "model_hash",
        "wall_time_s",
    ):
        assert key in post.attrs, key
    assert post.attrs["seed"] == TINY_SAMPLER["seed"]
    # the Snakemake fit ran with cogfit's XLA options (runtime.configure_xla)
    assert "--xla_cpu_copy_insertion_use_region_analysis=true" in post.attrs["xla_flags"]
    assert "xla_cpu_small_while_loop_byte_threshold=1000000000" in post.attrs["xla_flags"]
    assert "xla_cpu_disable_new_fusion_emitters=true" in post.attrs["xla_flags"]
    assert post.attrs["model"] == model

    summary = pd.read_parquet(out / "summary.parquet")
    for col in ("mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "ess_bulk", "ess_tail", "r_hat"):
        assert col in summary.columns
    n_scalars = sum(int(post[v].size // (post.sizes["chain"] * post.sizes["draw"])) for v in post)
    assert len(summary) == n_scalars
    diag = pd.read_parquet(out / "diagnostics.parquet")
    assert {"r_hat", "ess_bulk", "divergences", "ebfmi", "overall"} <= set(diag["check"])
    n_div = int(idata.sample_stats["diverging"].sum())
    assert (
        diag.loc[(diag["check"] == "divergences") & (diag["scope"] == "all"), "value"].item()
        == n_div
    )
    for plot in ("trace.png", "rank.png"):
        assert (out / "plots" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_report_html(pipeline: Path) -> None:
    html = (pipeline / "results/report/index.html").read_text()
    assert "<html" in html.lower() and "rw_dual" in html and "sub-044" in html
    assert "data:image/png;base64," in html


@pytest.mark.slow
def test_nothing_to_do_then_report_only_rerun(pipeline: Path) -> None:
    assert jobs_planned(snakemake(pipeline, "-n").stdout) == {}
    cfg_path = pipeline / "config/config.yaml"
    original = cfg_path.read_text()
    cfg = yaml.safe_load(original)
    cfg["report"]["title"] = "A different title"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    try:
        planned = jobs_planned(snakemake(pipeline, "-n").stdout)
    finally:
        cfg_path.write_text(original)
    assert planned == {"report": 1}


@pytest.mark.slow
def test_snakemake_report_and_lint(pipeline: Path) -> None:
    snakemake(pipeline, "--report", "report.html")
    assert (pipeline / "report.html").stat().st_size > 10_000
    lint = snakemake(pipeline, "--lint", check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: c["sampler"].update(chainz=3),
            "config key sampler.chainz: unknown key; allowed keys: chains,",
        ),
        (
            lambda c: c["datasets"]["example"]["exclude"].update(min_trails=3),
            "config key datasets.example.exclude.min_trails: unknown key;",
        ),
        (
            lambda c: c["datasets"]["example"].update(n_options=2.0),
            "config key datasets.example.n_options: 2.0 is not an integer; expected an integer",
        ),
        (
            lambda c: c["datasets"]["example"].update(models=["rw", "no_such_model"]),
            "datasets.example.models: unknown model 'no_such_model'",
        ),
        (
            lambda c: c["sampler"].update(target_accept=1.5),
            "config key sampler.target_accept: 1.5 is out of range",
        ),
        (
            lambda c: c["datasets"]["example"].update(priors={"gamma": {"sd_scale": 1.0}}),
            "datasets.example.priors: 'gamma'",
        ),
        (lambda c: c["sampler"].update(scan="associative"), "rw_dual"),
    ],
    ids=[
        "unknown-key",
        "nested-unknown-key",
        "whole-float-for-integer",
        "unknown-model",
        "bad-value",
        "prior-for-unknown-parameter",
        "associative-scan-for-nonlinear-model",
    ],
)
def test_bad_config_fails_before_any_job(tmp_path: Path, mutate, expected: str) -> None:  # noqa: ANN001
    work = make_workdir(tmp_path)
    cfg_path = work / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    mutate(cfg)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    # the one line, besides Snakemake's own "Using workflow specific profile ..." line
    assert sum(expected in line for line in lines) == 1, lines
    assert len(lines) <= 3, lines
    assert not (work / "results").exists()


@pytest.mark.parametrize("model", ["rw", "rw_dual"])
def test_contrasts_artifact(pipeline: Path, model: str) -> None:
    fit = pipeline / "results" / "example" / model
    table = pd.read_parquet(fit / "contrasts.parquet")
    posterior = az.from_netcdf(fit / "posterior.nc").posterior
    params = posterior.attrs["parameters"].split(",")
    assert len(table) == len(params) * 2  # one pair of groups, two scales
    row = table[(table["parameter"] == params[0]) & (table["scale"] == "natural")].iloc[0]
    values = posterior[f"{params[0]}_mu_natural"]
    diff = values.sel(group=row["group_a"]) - values.sel(group=row["group_b"])
    assert row["mean"] == pytest.approx(float(diff.mean()), rel=1e-6)
