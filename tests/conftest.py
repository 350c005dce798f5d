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
