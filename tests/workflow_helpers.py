"""Helpers of the end-to-end tests: a temporary copy of the workflow and the snakemake CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COPY = (
    "Snakefile",
    "workflow",
    "scripts",
    "config",
    "profiles",
    "envs",
    "src",
    "data/example",
    "data/examples",
)
TINY_SAMPLER = {"chains": 2, "warmup": 150, "samples": 150, "seed": 11, "device": "cpu"}
#: analysis stages at sizes that keep the end-to-end tests short
TINY_ANALYSES = {
    "compare": {"draws": 100, "importance_samples": 500},
    "ppc": {"draws": 100},
    "regressors": {"draws": 100},
}
PNG = b"\x89PNG\r\n\x1a\n"


def snakemake_env(**extra: str) -> dict[str, str]:
    """The test's environment with this interpreter's bin/ first (jobs find snakemake)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, **extra}


def snakemake(
    workdir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the real snakemake CLI in ``workdir``; fail loudly with its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        env=env or snakemake_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_workdir(root: Path, **overrides: object) -> Path:
    """Copy the workflow and write a config with the tiny sampler (plus overrides)."""
    work = root / "wf"
    for rel in COPY:
        src, dst = REPO / rel, work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["sampler"] = dict(TINY_SAMPLER)
    cfg["diagnostics"]["on_fail"] = "warn"
    cfg.update(TINY_ANALYSES)
    cfg.update(overrides)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


def jobs_planned(dry_run_output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run: rule -> count."""
    lines = dry_run_output.splitlines()
    out: dict[str, int] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Job stats"))
    except StopIteration:
        return out
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] not in {"total", "all"}:  # "all" is the target pseudo-rule
            out[parts[0]] = int(parts[1])
    return out
