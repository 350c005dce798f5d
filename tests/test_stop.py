"""Stops: SIGTERM and SIGINT end a job promptly, with nothing complete-looking left behind.

Each test runs a real job in its own process (the fit on the example's cleaned trials, or
an artifact write around a long compiled loop), sends the signal at a known stage and
checks the exit status, the time from the signal to the end and what is left on disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import arviz as az
import pytest
import yaml
from workflow_helpers import REPO, make_workdir, snakemake_env

from cogfit.clean import CleaningSpec, clean
from cogfit.io import PAUSE_ENV, write_parquet
from cogfit.stop import GRACE_S

DRIVER = Path(__file__).resolve().parent / "stop_driver.py"
#: the job must be gone this long after the signal (the issue's bound on the example)
STOP_WITHIN_S = 5.0
#: the longest wait for a job to reach the stage a signal is meant for
STAGE_TIMEOUT_S = 300.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's cleaned trials, as the clean rule writes them."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"]["example"]
    cfg = {**cfg, "path": str(REPO / cfg["path"])}
    out = tmp_path_factory.mktemp("stop") / "trials.parquet"
    write_parquet(clean(CleaningSpec.from_config("example", cfg))[0], out)
    return out


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_log(proc: subprocess.Popen, log: Path, text: str) -> None:
    """Wait until ``text`` appears in the job's log (fail if the job ends first)."""
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text():
            return
        if proc.poll() is not None:
            pytest.fail(f"job ended ({proc.returncode}) before {text!r}:\n{_output(proc)}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"job never logged {text!r}")


def stop_and_time(proc: subprocess.Popen, signum: int) -> tuple[int, float]:
    """Send ``signum``; the job's exit status and the seconds it took to end."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        status = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"job still running 60 s after {signal.Signals(signum).name}")
    return status, time.monotonic() - sent


def leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes in ``folder``."""
    return sorted(p.name for p in folder.glob("*.tmp")) if folder.exists() else []


#: the writer pauses between writing the temporary file and renaming it into place
PAUSED_WRITE = {PAUSE_ENV: "30"}
SAMPLING = "(warm-up) reached by all chains"  # the warm-up milestone: sampling starts


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_sampling_stops_the_fit(trials: Path, tmp_path: Path, signum: int) -> None:
    out, log = tmp_path / "posterior.nc", tmp_path / "fit.log"
    proc = start("fit", str(trials), str(out), str(log), "200000")
    wait_for_log(proc, log, SAMPLING)
    time.sleep(0.5)
    status, took = stop_and_time(proc, signum)
    assert status == 128 + signum, proc.stderr.read()
    assert took < STOP_WITHIN_S
    assert not out.exists() and leftovers(tmp_path) == []
    text = log.read_text()
    assert f"received {signal.Signals(signum).name}" in text
    assert "done in" not in text  # sampling did not go on to its end


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_the_write_never_exits_zero(
    trials: Path, tmp_path: Path, signum: int
) -> None:
    out, log = tmp_path / "posterior.nc", tmp_path / "fit.log"
    # the writer pauses between writing the temporary file and renaming it into place
    proc = start(
        "fit", str(trials), str(out), str(log), "50", env={"COGFIT_TEST_WRITE_PAUSE_S": "30"}
    )
    wait_for_log(proc, log, "done in")
    wait_for_tmp(proc, tmp_path)
    status, took = stop_and_time(proc, signum)
    assert status == 128 + signum, proc.stderr.read()
    assert took < STOP_WITHIN_S
    assert not out.exists() and leftovers(tmp_path) == []
    assert "wrote" not in log.read_text()


def wait_for_tmp(proc: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    while not leftovers(folder):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the job never started writing its artifact")
        time.sleep(0.05)


def test_kill_during_the_write_then_rerun_leaves_no_temporary(trials: Path, tmp_path: Path) -> None:
    out, log = tmp_path / "posterior.nc", tmp_path / "fit.log"
    proc = start("fit", str(trials), str(out), str(log), "50", env=PAUSED_WRITE)
    wait_for_log(proc, log, "done in")
    wait_for_tmp(proc, tmp_path)
    proc.kill()  # SIGKILL: nothing in the job can react
    proc.wait(timeout=60)
    stale = leftovers(tmp_path)
    assert stale and not out.exists()  # what a killed write leaves

    rerun = start("fit", str(trials), str(out), str(log), "50")
    assert rerun.wait(timeout=STAGE_TIMEOUT_S) == 0, rerun.stderr.read()
    assert leftovers(tmp_path) == []
    assert "removed 1 temporary file(s) left by an earlier, killed run" in log.read_text()
    posterior = az.from_netcdf(out).posterior
    assert posterior.sizes["draw"] == 50


def test_a_compiled_loop_without_callbacks_is_ended_after_the_grace(tmp_path: Path) -> None:
    """The main thread waits in one long XLA execution; the watcher ends the process."""
    out, log = tmp_path / "artifact.txt", tmp_path / "busy.log"
    proc = start("busy", str(out), str(log))
    wait_for_log(proc, log, "computing")
    time.sleep(0.5)
    assert leftovers(tmp_path)  # the half-written artifact's temporary file
    status, took = stop_and_time(proc, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM
    assert GRACE_S <= took < STOP_WITHIN_S
    assert not out.exists() and leftovers(tmp_path) == []
    assert "ending the process now" in log.read_text()


def test_sigterm_to_a_snakemake_fit_job_fails_the_run_cleanly(tmp_path: Path) -> None:
    """The case of the issue: a fit job of the real pipeline on the example, with 20,000
    draws, gets SIGTERM (as from scancel) while it samples."""
    sampler = {"chains": 2, "warmup": 50, "samples": 20000, "seed": 5, "device": "cpu"}
    work = make_workdir(tmp_path, sampler=sampler)
    target = "results/example/rw/posterior.nc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", target],
        cwd=work,
        env=snakemake_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log = work / "results/logs/example/rw/fit.log"
    wait_for_log(proc, log, SAMPLING)
    job = fit_job_pid(proc.pid)
    sent = time.monotonic()
    os.kill(job, signal.SIGTERM)
    while Path(f"/proc/{job}").exists() and _state(job) != "Z":
        assert time.monotonic() - sent < STOP_WITHIN_S, "the fit job is still running"
        time.sleep(0.05)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0, output
    assert not (work / target).exists()
    assert leftovers(work / "results/example/rw") == []
    assert "received SIGTERM" in log.read_text()


def fit_job_pid(snakemake_pid: int) -> int:
    """The process of the fit job's script among the descendants of Snakemake."""
    for pid in _descendants(snakemake_pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"fit.py" in cmdline and b"python" in cmdline:
            return pid
    raise AssertionError("no fit job process found")


def _descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children += [int(c) for c in text]
    return children + [d for c in children for d in _descendants(c)]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "X"


def _output(proc: subprocess.Popen) -> str:
    stream = proc.stderr or proc.stdout
    return stream.read() if stream else ""
