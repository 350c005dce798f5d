"""A local Snakemake start does not touch SLURM: where SLURM's client is installed but no
controller answers, the SLURM executor plugin's import-time probes (``scontrol show
config``) would hold up every ``snakemake`` call, so the development install leaves the
plugin out (tests/test_slurm.py installs it for its own runs)."""

from __future__ import annotations

import importlib.util
import os
import tomllib
from pathlib import Path

import pytest
from workflow_helpers import REPO, make_workdir, snakemake, snakemake_env

PLUGIN = "snakemake-executor-plugin-slurm"
SLURM_CLIENTS = ("sinfo", "sacct", "squeue", "scontrol")


def _installed_by_choice() -> bool:
    """The plugin is importable here though the dev extra does not bring it (``.[slurm]``)."""
    if importlib.util.find_spec(PLUGIN.replace("-", "_")) is None:
        return False
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return not any(r.startswith(PLUGIN) for r in extras["optional-dependencies"]["dev"])


def _fake_slurm_clients(folder: Path, calls: Path) -> None:
    """SLURM client commands that note each call in ``calls`` and fail, like a dead controller."""
    folder.mkdir()
    for name in SLURM_CLIENTS:
        tool = folder / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        tool.chmod(0o755)


def test_dry_run_calls_no_slurm_client(tmp_path: Path) -> None:
    if _installed_by_choice():
        pytest.skip(f"{PLUGIN} is installed here (the slurm extra): Snakemake imports it")
    work = make_workdir(tmp_path)
    calls = tmp_path / "slurm-calls.txt"
    _fake_slurm_clients(tmp_path / "bin", calls)
    env = snakemake_env()
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    out = snakemake(work, "-n", env=env).stdout
    assert "This was a dry-run" in out
    assert not calls.exists(), f"a local dry run called SLURM:\n{calls.read_text()}"
