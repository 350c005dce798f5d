"""The tiny pipeline on a real single-node SLURM (tests/slurm/local_cluster.sh), submitted
with profiles/slurm: fit jobs go through sbatch with a GPU request, the artifacts equal a
local run's, and a cancelled fit is retried to completion.

The SLURM executor plugin is not in the development install (Snakemake would import it,
and probe SLURM, at every local start): these tests install the ``slurm`` extra into a
folder of their own and put it on PYTHONPATH of their Snakemake runs only."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REPO, TINY_SAMPLER, make_workdir, snakemake_env

CLUSTER = REPO / "tests/slurm/local_cluster.sh"
SLURM_CONF = "/tmp/cogfit-slurm/etc/slurm.conf"
SLURM_ARGS = (
    "--profile",
    "profiles/slurm",
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--latency-wait",
    "5",
    "--default-resources",
    "mem_mb=1000",
    "runtime=30",
    "--set-resources",
    "fit:mem_mb=2000",
)

# device auto: fit jobs ask SLURM for a GPU (device cpu asks for none); JAX then uses the
# GPU where the node has one, else the CPU (as on CI), so draws match the local CPU run.
SAMPLER = {**TINY_SAMPLER, "device": "auto"}
#: the models the example config fits
MODELS = ("rw", "rw_dual", "rw_persev")
#: per-fit rules that run as small CPU jobs (no GPU asked for)
CPU_JOBS = ("diagnose", "marginal", "ppc", "regressors", "contrasts")

pytestmark = pytest.mark.slow


def _slurm_unavailable() -> str | None:
    """Why a local SLURM cannot run here, or None (then it is installed)."""
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd needs root"
    if shutil.which("slurmctld") is None:
        proc = subprocess.run([str(CLUSTER), "install"], capture_output=True, text=True)
        if proc.returncode != 0:
            return f"slurm-wlm could not be installed: {proc.stderr.strip()[-300:]}"
    return None


def _slurm_extra() -> list[str]:
    """The requirements of pyproject's ``slurm`` extra (what cluster users install)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"]["slurm"]


def _pip(*args: str) -> str:
    """Run this interpreter's pip; its stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *args], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"pip install {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _install_plugin(folder: Path) -> None:
    """``pip install --target`` the slurm extra and what it needs beyond this venv.

    pip resolves the extra against the venv first (a dry run), so only packages the venv
    lacks go into the folder and the venv's own (numpy, Snakemake's interfaces) stay in use.
    """
    plan = json.loads(_pip("--dry-run", "--report", "-", *_slurm_extra()))
    pins = [f"{p['metadata']['name']}=={p['metadata']['version']}" for p in plan["install"]]
    folder.mkdir(parents=True)
    if pins:  # none where the venv has the slurm extra already
        _pip("--no-deps", "--target", str(folder), *pins)


def _plugin_folder(cache: pytest.Cache) -> Path:
    """A folder holding the SLURM executor plugin, kept in pytest's cache for later runs."""
    key = hashlib.sha256(f"{sys.version_info[:2]} {_slurm_extra()}".encode()).hexdigest()[:12]
    folder = cache.mkdir("slurm-plugin") / key
    if not folder.is_dir():
        partial = folder.with_name(f"{key}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        _install_plugin(partial)
        partial.rename(folder)
    return folder


@pytest.fixture(scope="module")
def slurm(pytestconfig: pytest.Config) -> dict[str, str]:
    reason = _slurm_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"SLURM is required in CI: {reason}")
        pytest.skip(reason)
    plugin = _plugin_folder(pytestconfig.cache)
    subprocess.run([str(CLUSTER), "start"], check=True)
    # sbatch --export=ALL (the plugin's) hands PYTHONPATH on to the jobs, whose Snakemake
    # runs the job with the slurm-jobstep plugin from the same folder
    path = os.pathsep.join(p for p in (str(plugin), os.environ.get("PYTHONPATH")) if p)
    env = snakemake_env(SLURM_CONF=SLURM_CONF, PYTHONPATH=path)
    yield env
    subprocess.run([str(CLUSTER), "stop"], check=False)


def squeue(env: dict[str, str]) -> pd.DataFrame:
    """Every job the controller remembers (MinJobAge keeps finished ones): id, name, state."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i|%k|%T"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["jobid", "comment", "state"])


def scontrol_job(env: dict[str, str], jobid: str) -> str:
    return subprocess.run(
        ["scontrol", "show", "job", jobid], env=env, capture_output=True, text=True, check=True
    ).stdout


def run_on_slurm(work: Path, env: dict[str, str], *targets: str) -> subprocess.Popen:
    return subprocess.Popen(
        # targets first: --set-resources would take them as more of its values
        ["python", "-m", "snakemake", *targets, *SLURM_ARGS],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"SLURM run failed:\n{out}"
    return out


def submitted_jobs(work: Path, env: dict[str, str], before: set[str]) -> pd.DataFrame:
    """This run's jobs: the plugin comments each with the rule and wildcards."""
    jobs = squeue(env)
    jobs = jobs[~jobs["jobid"].isin(before)].copy()
    jobs["rule"] = jobs["comment"].str.extract(r"^rule_([a-z_]+?)_wildcards")[0]
    return jobs


@pytest.fixture(scope="module")
def slurm_run(slurm: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    work = make_workdir(tmp_path_factory.mktemp("slurm"), sampler=SAMPLER)
    before = set(squeue(slurm)["jobid"])
    log = finish(run_on_slurm(work, slurm))
    return work, submitted_jobs(work, slurm, before), log


def test_fit_jobs_went_through_sbatch_with_a_gpu(slurm_run, slurm) -> None:  # noqa: ANN001
    work, jobs, _ = slurm_run
    fits = jobs[jobs["rule"] == "fit"]
    assert len(fits) == len(MODELS), jobs
    assert set(fits["state"]) == {"COMPLETED"}
    for jobid in fits["jobid"]:
        assert re.search(r"TresPerJob=gres:gpu:1|gres/gpu[:=]1", scontrol_job(slurm, jobid))
    # light rules: small CPU jobs without a GPU; clean, figures and report ran locally
    for rule in CPU_JOBS:
        light = jobs[jobs["rule"] == rule]
        assert len(light) == len(MODELS), (rule, jobs)
        for jobid in light["jobid"]:
            assert "gpu" not in scontrol_job(slurm, jobid).split("TresPerJob=")[-1].split()[0]
    assert len(jobs[jobs["rule"] == "compare"]) == 1
    assert not set(jobs["rule"]) & {"clean", "report", "figures_fit", "figures_comparison"}
    assert (work / "results/report/index.html").exists()


def test_slurm_artifacts_match_a_local_run(slurm_run, pipeline: Path) -> None:  # noqa: ANN001
    work, _, _ = slurm_run
    for model in MODELS:
        remote = az.from_netcdf(work / f"results/example/{model}/posterior.nc")
        local = az.from_netcdf(pipeline / f"results/example/{model}/posterior.nc")
        assert remote.groups() == local.groups()
        for group in remote.groups():
            r, loc = remote[group], local[group]
            assert set(r.data_vars) == set(loc.data_vars), group
            assert dict(r.sizes) == dict(loc.sizes), group
        # same seed, same device, same code: the same draws
        for var in local.posterior.data_vars:
            np.testing.assert_array_equal(remote.posterior[var].values, local.posterior[var].values)
        for name in ("summary.parquet", "diagnostics.parquet"):
            a = pd.read_parquet(work / f"results/example/{model}/{name}")
            b = pd.read_parquet(pipeline / f"results/example/{model}/{name}")
            assert list(a.columns) == list(b.columns) and len(a) == len(b)


def test_cancelled_fit_is_retried_to_completion(slurm, tmp_path: Path) -> None:  # noqa: ANN001
    work = make_workdir(tmp_path, sampler=SAMPLER)
    before = set(squeue(slurm)["jobid"])
    # the fits only: the stages after them are slurm_run's
    proc = run_on_slurm(work, slurm, *(f"results/example/{m}/posterior.nc" for m in MODELS))
    cancelled = None
    deadline = time.time() + 300
    while cancelled is None and time.time() < deadline and proc.poll() is None:
        jobs = submitted_jobs(work, slurm, before)
        running = jobs[(jobs["rule"] == "fit") & (jobs["state"] == "RUNNING")]
        if len(running):
            time.sleep(4)  # let it get into JAX start-up or sampling
            cancelled = running["jobid"].iloc[0]
            subprocess.run(["scancel", cancelled], env=slurm, check=True)
        time.sleep(0.5)
    if cancelled is None:
        proc.kill()
        pytest.fail(f"no fit job was seen running; the run's log:\n{proc.communicate()[0]}")
    log = finish(proc)
    jobs = submitted_jobs(work, slurm, before)
    fits = jobs[jobs["rule"] == "fit"]
    assert fits.loc[fits["jobid"] == cancelled, "state"].item() == "CANCELLED"
    assert (fits["state"] == "COMPLETED").sum() == len(MODELS), fits  # one after a retry
    assert "attempt" in log.lower() or len(fits) == len(MODELS) + 1
    for model in MODELS:
        idata = az.from_netcdf(work / f"results/example/{model}/posterior.nc")
        assert idata.posterior.sizes["draw"] > 0
    leftovers = list((work / "results").rglob("*.tmp"))
    assert leftovers == [], f"half-written files left behind: {leftovers}"
