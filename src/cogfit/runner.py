"""Shared plumbing of the Snakemake ``script:`` entry points: logging and clean failures."""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cogfit.errors import CogfitError


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
    """Run one pipeline step; a CogfitError becomes one clear line and a failed job."""
    log = setup_logging(snakemake.log[0] if snakemake.log else None)
    # scancel and job time limits send SIGTERM: unwind like an exception so that atomic
    # writers remove their temporary files instead of leaving them behind.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        step(log)
    except CogfitError as err:
        log.error("%s", err)
        sys.exit(1)


def _terminate(signum: int, frame: object) -> None:
    logging.getLogger("cogfit").error("terminated by signal %d (cancelled or out of time)", signum)
    sys.exit(128 + signum)
