"""Stopping on SIGTERM or SIGINT: promptly, without temporary files, never with status 0.

``scancel`` and a cluster's time limit send SIGTERM (SIGKILL follows after SLURM's
KillWait, often half a minute); Ctrl-C sends SIGINT. Python runs a signal handler only in the main
thread and only between bytecodes, so while the main thread waits for a compiled XLA
execution the handler waits too. :func:`install` therefore also has the signal wake a
watcher thread (through :func:`signal.set_wakeup_fd`), which marks the stop at once. The
sampler's progress callbacks and the steps between its executions call :func:`check`,
which raises :class:`Stopped`; that unwinds through the atomic writers, which delete their
temporary files. Should the process still be alive :data:`GRACE_S` seconds after the
signal (an execution with no callback before its end, a long write), the watcher deletes
the temporary files still registered here and ends the process itself.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import NoReturn

SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: seconds a stopped process gets to unwind by itself before the watcher ends it
GRACE_S = 2.0
LOG = logging.getLogger("cogfit.stop")

# re-entrant: the main thread's handler may run while that thread holds the lock
_lock = threading.RLock()
_signum: int | None = None
_temporaries: set[Path] = set()
_wakeup: list[socket.socket] = []  # the socket pair, kept open for the process's life


class Stopped(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """Raised where a stop is noticed; a BaseException so ``except Exception`` lets it pass."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + signum


def requested() -> int | None:
    """The signal that asked this process to stop, or None."""
    return _signum


def check() -> None:
    """Raise :class:`Stopped` if a stop was requested."""
    if _signum is not None:
        raise Stopped(_signum)


def register(path: Path) -> None:
    """Track a temporary file that must not survive a stop."""
    with _lock:
        _temporaries.add(path)


def unregister(path: Path) -> None:
    with _lock:
        _temporaries.discard(path)


def remove_temporaries() -> None:
    """Delete every registered temporary file (those already gone are skipped)."""
    with _lock:
        paths = list(_temporaries)
        _temporaries.clear()
    for path in paths:
        path.unlink(missing_ok=True)


def install(log: logging.Logger = LOG) -> None:
    """Handle SIGTERM and SIGINT as stops; call once, from the main thread."""
    global LOG
    LOG = log
    if _wakeup:
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    _wakeup.extend((reader, writer))
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for signum in SIGNALS:
        signal.signal(signum, _handle)
    threading.Thread(target=_watch, args=(reader,), daemon=True, name="cogfit-stop").start()


def _handle(signum: int, frame: object) -> None:
    """The Python-level handler (main thread): mark the stop and unwind from here."""
    _mark(signum)
    raise Stopped(signum)


def _watch(reader: socket.socket) -> None:
    """Wake on every signal byte the C-level handler writes, whatever the main thread does."""
    while True:
        for byte in reader.recv(64):
            if byte in SIGNALS:
                _mark(byte)


def _mark(signum: int) -> None:
    global _signum
    with _lock:
        first = _signum is None
        if first:
            _signum = signum
    if not first:
        return
    LOG.error(
        "received %s (cancelled, out of time or interrupted): stopping",
        signal.Signals(signum).name,
    )
    timer = threading.Timer(GRACE_S, _force_exit, args=(signum,))
    timer.daemon = True
    timer.start()


def end(signum: int) -> NoReturn:
    """End the stopped process now: temporary files deleted, logs flushed, 128 + signum.

    Not ``sys.exit``: at exit JAX waits for executions still running on other devices
    (parallel chains), which a stop noticed by one chain's callback does not end."""
    remove_temporaries()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(exit_status(signum))


def _force_exit(signum: int) -> None:
    """End a process that did not unwind within :data:`GRACE_S` after the signal."""
    LOG.error("not stopped %.0f s after the signal: ending the process now", GRACE_S)
    end(signum)
