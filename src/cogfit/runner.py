"""Shared plumbing of the Snakemake ``script:`` entry points: logging, clean failures, stops."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cogfit import stop
from cogfit.errors import CogfitError
from cogfit.io import remove_stale_temporaries


def setup_logging(log_path: str | None) -> logging.Logger:
    """Log to the rule's log file and to stderr, with timestamps, at INFO."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("jax", "arviz", "matplotlib", "h5py", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
    return logging.getLogger("cogfit")


def run_step(snakemake: Any, step: Callable[[logging.Logger], None]) -> None:
    """Run one pipeline step; a CogfitError becomes one clear line and a failed job.

    SIGTERM (scancel, a time limit) and SIGINT stop the step (:mod:`cogfit.stop`): its
    temporary files are deleted and the job exits with 128 + the signal's number, also when
    the signal arrived after the step's last write."""
    log = setup_logging(snakemake.log[0] if snakemake.log else None)
    stop.install(log)
    remove_stale_temporaries(snakemake.output, log)
    try:
        step(log)
        stop.check()
    except BaseException as err:
        signum = stop.requested()
        if signum is not None:
            # a stop noticed inside a compiled program arrives as the runtime's own error
            why = err if isinstance(err, stop.Stopped) else type(err).__name__
            log.error("stopped (%s); nothing was written in place", why)
            stop.end(signum)
        if not isinstance(err, CogfitError):
            raise
        log.error("%s", err)
        stop.remove_temporaries()
        sys.exit(1)
