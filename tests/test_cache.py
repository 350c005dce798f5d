"""Between-workflow cache: an identical fit in another project is restored, not recomputed;
a different model or seed is a different cache entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import TINY_SAMPLER, make_workdir, snakemake, snakemake_env

pytestmark = pytest.mark.slow
FITS = ["results/example/rw/posterior.nc", "results/example/rw_dual/posterior.nc"]
QUICK = {**TINY_SAMPLER, "warmup": 60, "samples": 60}


def _fitted(work: Path) -> bool:
    """Whether the rw fit really sampled in this project (its log says so)."""
    log = work / "results/logs/example/rw/fit.log"
    return log.exists() and "divergent transitions" in log.read_text()


def run_cached(work: Path, cache: Path, targets: list[str] = FITS) -> str:
    env = snakemake_env(SNAKEMAKE_OUTPUT_CACHE=str(cache))
    proc = snakemake(work, *targets, "--cache", "fit", env=env)  # --cache takes several names
    return proc.stdout + proc.stderr


def test_identical_fit_is_reused_across_projects(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = make_workdir(tmp_path / "a", sampler=QUICK)
    run_cached(first, cache)
    entries = sorted(cache.iterdir())
    assert len(entries) == 2  # one entry per model: wildcards are part of the key

    second = make_workdir(tmp_path / "b", sampler=QUICK)
    out = run_cached(second, cache)
    assert out.count("from cache") == 2
    assert not _fitted(second)  # restored, not sampled
    for fit in FITS:
        assert (second / fit).read_bytes() == (first / fit).read_bytes()
    assert sorted(cache.iterdir()) == entries

    third = make_workdir(tmp_path / "c", sampler={**QUICK, "seed": QUICK["seed"] + 1})
    run_cached(third, cache, FITS[:1])
    assert len(list(cache.iterdir())) == 3, sorted(p.name for p in cache.iterdir())
    assert _fitted(third)
