"""Atomic artifact writers: a killed job never leaves a complete-looking half file.

Each artifact is written to a temporary file beside it (``.{name}.<random>.tmp``) and renamed
onto its path once complete. A stopped job deletes its temporary files (:mod:`cogfit.stop`);
one killed outright (SIGKILL) cannot, so the next run of the same rule deletes what an
earlier run left (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cogfit import stop

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd


TEMPORARY_SUFFIX = ".tmp"
#: test hook: seconds to wait between writing an artifact and renaming it into place, so
#: that a test's signal lands while a write is in progress
PAUSE_ENV = "COGFIT_TEST_WRITE_PAUSE_S"


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}."


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success,
    and not once a stop was requested."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=_temporary_prefix(target), suffix=TEMPORARY_SUFFIX
    )
    os.close(fd)
    tmp_path = Path(tmp)
    stop.register(tmp_path)
    # mkstemp creates 0600; give the artifact the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        if pause := float(os.environ.get(PAUSE_ENV, "0")):
            time.sleep(pause)
        stop.check()
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
        stop.unregister(tmp_path)


def remove_stale_temporaries(
    paths: Iterable[str | os.PathLike[str]], log: logging.Logger | None = None
) -> list[Path]:
    """Delete the temporary files that earlier, killed writes of ``paths`` left behind.

    Only the job that writes an artifact runs this, before it writes, so no live write of
    the same artifact can be under way."""
    removed = []
    for path in map(Path, paths):
        if not path.parent.is_dir():
            continue
        for stale in path.parent.glob(f"{glob.escape(_temporary_prefix(path))}*{TEMPORARY_SUFFIX}"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    if removed and log is not None:
        log.warning(
            "removed %d temporary file(s) left by an earlier, killed run: %s",
            len(removed),
            ", ".join(str(p) for p in removed),
        )
    return removed


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a DataFrame as Parquet atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_netcdf(idata: az.InferenceData, path: str | os.PathLike[str]) -> None:
    """Write InferenceData as NetCDF (h5netcdf engine) atomically."""
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp), engine="h5netcdf")


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write a text file (HTML, Markdown) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig, path: str | os.PathLike[str], dpi: int = 110) -> None:  # noqa: ANN001
    """Save a Matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    suffix = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
