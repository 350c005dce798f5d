"""End to end: the real Snakefile on a temporary copy, tiny sampler settings, every artifact
opened with pandas or ArviZ; then the caching promises (-n idle, report-only reruns)."""

from __future__ import annotations

import os
from pathlib import Path

import arviz as az
import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, TINY_SAMPLER, jobs_planned, make_workdir, snakemake

from cogfit.names import OBSERVED, VALID


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
    assert idata.log_likelihood[OBSERVED].dims == ("chain", "draw", "participant")
    assert (idata.log_likelihood[OBSERVED].values < 0).all()
    obs = idata.observed_data["choice"].values
    mask = idata.constant_data[VALID].values.astype(bool)
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


MODELS = ("rw", "rw_dual", "rw_persev")


@pytest.mark.slow
def test_analysis_artifacts_open(pipeline: Path) -> None:
    """Every analysis artifact of the default run exists and opens with its columns."""
    from cogfit.comparison import PARTICIPANT_COLUMNS, TABLE_COLUMNS
    from cogfit.ppc import COLUMNS as PPC_COLUMNS

    results = pipeline / "results" / "example"
    table = pd.read_parquet(results / "model_comparison.parquet")
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert sorted(table["model"]) == sorted(MODELS)
    assert table["elpd"].notna().all() and table["weight"].sum() == pytest.approx(1.0)
    per_participant = pd.read_parquet(results / "model_comparison_participants.parquet")
    assert list(per_participant.columns) == list(PARTICIPANT_COLUMNS)
    assert set(per_participant["group"]) == {"control", "patient"}
    trials = pd.read_parquet(results / "clean/trials.parquet")
    for model in MODELS:
        marginal = az.from_netcdf(results / model / "marginal.nc")
        assert marginal.log_likelihood[OBSERVED].dims == ("chain", "draw", "participant")
        ppc = pd.read_parquet(results / model / "ppc.parquet")
        assert list(ppc.columns) == list(PPC_COLUMNS)
        assert {"learning_curve", "stay", "participant"} <= set(ppc["statistic"])
        regressors = pd.read_parquet(results / model / "regressors.parquet")
        assert len(regressors) == 2 * len(trials)  # posterior mean and median parameters
        assert {"prediction_error", "p_choice", "value_0", "value_1"} <= set(regressors.columns)


@pytest.mark.slow
def test_figures_redraw_without_refitting(pipeline: Path) -> None:
    """`snakemake figures` after a full run has nothing to do; a lost figure is redrawn
    from the cached artifacts, with no fit or analysis job."""
    assert jobs_planned(snakemake(pipeline, "-n", "figures").stdout) == {}
    figures = pipeline / "results/figures/example"
    for suffix in ("pdf", "png"):
        assert (figures / f"rw_ppc.{suffix}").stat().st_size > 1000
    (figures / "rw_ppc.pdf").unlink()
    (figures / "comparison.png").unlink()
    planned = jobs_planned(snakemake(pipeline, "-n", "figures").stdout)
    assert planned == {"figures_fit": 1, "figures_comparison": 1, "figures": 1}
    snakemake(pipeline, "figures")
    assert (figures / "rw_ppc.pdf").read_bytes()[:4] == b"%PDF"


def _chromium() -> str:
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "headless Chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI: {reason}")
        pytest.skip(reason)
    return found


@pytest.mark.slow
def test_report_renders_in_headless_chromium(pipeline: Path, tmp_path: Path) -> None:
    """The report as a browser renders it: the new sections are there, every image decodes,
    and the file stays small enough to mail."""
    import subprocess

    html = pipeline / "results/report/index.html"
    assert html.stat().st_size < 6_000_000
    script = (
        "<script>window.onload=()=>{const bad=[...document.images].filter("
        "i=>!i.complete||i.naturalWidth===0).length;"
        "document.body.setAttribute('data-broken-images',String(bad));};</script>"
    )
    page = tmp_path / "page.html"
    page.write_text(html.read_text().replace("</body>", script + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path}/u"]
    dom = subprocess.run(
        [_chromium(), *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for heading in (
        "Model comparison",
        "Bayesian model selection",
        "Posterior predictive checks",
        "Group contrasts (natural scale)",
        "Priors used",
    ):
        assert heading in dom, heading
    assert 'data-broken-images="0"' in dom
    for model in MODELS:
        assert f"Model {model}" in dom


@pytest.mark.slow
def test_kfold_comparison_refits_each_fold(tmp_path: Path) -> None:
    """compare.method: kfold plans one refit per fold ({fold} wildcard), and the fit of all
    participants (each held-out participant's proposal), and scores every participant
    exactly once, held out."""
    from workflow_helpers import TINY_ANALYSES

    work = make_workdir(
        tmp_path, compare={**TINY_ANALYSES["compare"], "method": "kfold", "folds": 2}
    )
    cfg_path = work / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["datasets"]["example"]["models"] = ["rw", "rw_persev"]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    target = "results/example/model_comparison.parquet"
    planned = jobs_planned(snakemake(work, "-n", target).stdout)
    assert planned == {"clean": 1, "fit": 2, "fit_fold": 4, "fold_marginal": 4, "compare": 1}
    snakemake(work, target)
    table = pd.read_parquet(work / target)
    assert set(table["method"]) == {"kfold"} and set(table["model"]) == {"rw", "rw_persev"}
    assert (table["n_participants"] == 43).all() and table["elpd"].notna().all()
    held_out = []
    for fold in (0, 1):
        fold_fit = az.from_netcdf(work / f"results/example/rw/folds/{fold}/posterior.nc")
        held_out += yaml.safe_load(fold_fit.posterior.attrs["held_out"])
    assert sorted(held_out) == sorted(
        pd.read_parquet(work / "results/example/clean/trials.parquet")["participant"].unique()
    )
