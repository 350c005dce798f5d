"""Where and how a fit runs: XLA flags, device, precision, chain method, scan, chunks.

Everything here is decided before the first draw and changes only speed, never the
model: the XLA options cogfit starts JAX with, the device and floating-point precision,
how chains share the device(s), which likelihood scan runs and whether the likelihood
runs in participant chunks. Measurements behind the choices: docs/performance.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogfit.errors import ConfigError

if TYPE_CHECKING:
    from cogfit.data import TaskData
    from cogfit.fit import SamplerSettings
    from cogfit.models import BehaviouralModel

LOG = logging.getLogger("cogfit.runtime")
DEVICES = ("auto", "cpu", "gpu")
#: on the CPU, data of more than this many participant chunks' worth of trials run in chunks
CHUNKS_FROM = 4

# XLA CPU options cogfit runs with unless XLA_FLAGS already sets them. Copy insertion with
# region analysis drops the per-iteration copies of loop-carried buffers that XLA otherwise
# inserts into every while loop; each copy is a separately dispatched kernel, and in the
# likelihood's scan (a few small kernels per trial step) dispatch is most of the cost.
# Draws are bit-identical. The option exists in every jaxlib from 0.6 on (an unknown XLA
# flag aborts the process, so it is not set blindly for other libraries).
XLA_CPU_DEFAULTS = {"xla_cpu_copy_insertion_use_region_analysis": "true"}
# Entries of XLA's ``--xla_backend_extra_options`` map (``key=value,key=value``).
# - The while-loop threshold: XLA:CPU compiles a while loop whose buffers are smaller than
#   this as one kernel (loop inside) rather than dispatching every op of every iteration
#   from its runtime; XLA's default leaves out the likelihood's scan and NUTS' trajectory
#   loop. Draws are bit-identical.
# - The legacy fusion emitters (not XLA:CPU's newer MLIR-based ones) compile a NUTS
#   program faster, with bit-identical draws (with participant chunks rounding differs, so
#   draws part ways); the associative scan's CPU gradient is slower with them, but it is
#   never ``auto``'s choice on a CPU.
# Keys starting with ``xla_`` are read by XLA itself (never passed to LLVM), and an unknown
# key is ignored, so older jaxlibs and the GPU backend run unaffected. XLA reads a boolean
# key by its presence alone (``...=false`` still turns it on), so :func:`configure_xla`
# drops entries set to ``false``: that is how a user turns one of these off.
XLA_BACKEND_DEFAULTS = {
    "xla_cpu_small_while_loop_byte_threshold": "1000000000",
    "xla_cpu_disable_new_fusion_emitters": "true",
}


def configure_xla(
    n_devices: int, backend_defaults: Mapping[str, str] = XLA_BACKEND_DEFAULTS
) -> None:
    """Expose ``n_devices`` CPU devices so chains run in parallel, and add
    :data:`XLA_CPU_DEFAULTS` and ``backend_defaults`` (:data:`XLA_BACKEND_DEFAULTS`)
    where XLA_FLAGS does not set them (backend options set to ``false`` are left out);
    call before JAX starts."""
    count, extra = "xla_force_host_platform_device_count", "xla_backend_extra_options"
    flags = {}  # flag name -> the flag as written
    for flag in os.environ.get("XLA_FLAGS", "").split():
        flags[flag.lstrip("-").split("=")[0]] = flag
    for name, value in XLA_CPU_DEFAULTS.items():
        flags.setdefault(name, f"--{name}={value}")
    options = {}  # key -> "key" or "key=value", the user's entries first
    for entry in flags.get(extra, "").partition("=")[2].split(","):
        if entry:
            options[entry.partition("=")[0]] = entry
    for key, value in backend_defaults.items():
        options.setdefault(key, f"{key}={value}")
    kept = [entry for entry in options.values() if entry.partition("=")[2].lower() != "false"]
    flags[extra] = f"--{extra}={','.join(kept)}"
    flags[count] = f"--{count}={int(n_devices)}"
    os.environ["XLA_FLAGS"] = " ".join(flags.values())


def select_device(requested: str, log: logging.Logger = LOG) -> str:
    """Resolve ``auto`` to the platform JAX sees; refuse ``gpu`` where there is none."""
    import jax

    if requested not in DEVICES:
        raise ConfigError(f"sampler.device: expected one of {list(DEVICES)}, got {requested!r}")
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if requested == "gpu" and not gpus:
        raise ConfigError(
            "sampler.device is 'gpu' but JAX sees no GPU (install jax[cuda12] or use "
            "envs/cogfit-cuda.yaml, and run on a GPU node); set device: cpu or auto to use the CPU"
        )
    if requested == "auto":
        if gpus:
            log.info("device auto: JAX sees %d GPU(s), sampling on %s", len(gpus), gpus[0])
            return "gpu"
        log.info("device auto: JAX sees no GPU, sampling on the CPU")
        return "cpu"
    return requested


@contextlib.contextmanager
def precision(name: str) -> Iterator[None]:
    """Trace and run under float64 when asked; float32 is JAX's (faster) default."""
    import jax

    enable_x64 = getattr(jax, "enable_x64", None)
    if enable_x64 is None:  # older JAX
        from jax.experimental import enable_x64
    with enable_x64(name == "float64"):
        yield


def chain_method(platform: str, chains: int) -> str:
    """Vectorised chains on one GPU; parallel host devices on CPU when there are enough."""
    import jax

    if platform == "gpu":
        return "vectorized"
    return "parallel" if jax.local_device_count("cpu") >= chains and chains > 1 else "sequential"


def resolve_scan(requested: str, platform: str, model: BehaviouralModel) -> str:
    """The likelihood scan a fit uses: ``auto`` is ``associative`` on a GPU for models
    with an affine update (:class:`cogfit.models.base.LinearForm`), else ``sequential``.

    Why: a sequential scan runs one loop iteration per trial, and a GPU pays launch and
    loop-control overhead per iteration however little each does; the parallel-prefix
    scan has logarithmic depth. On the CPU the sequential scan is faster (fewer
    operations, no launches).
    """
    if requested != "auto":
        return requested
    return "associative" if platform == "gpu" and model.linear is not None else "sequential"


def participant_chunk(
    settings: SamplerSettings, platform: str, n_participants: int, n_trials: int
) -> int:
    """Participants per likelihood chunk (0: all at once; see
    :func:`cogfit.likelihood.participant_log_lik`).

    CPU only (on a GPU chunks would run one after another and idle the device), sequential
    scan only (``auto`` is sequential on the CPU), and only for data of more than
    ``CHUNKS_FROM`` chunks: chunks pay once one loop's working set no longer fits the
    CPU's caches, and below that take as long as one loop.
    """
    chunk_trials = settings.cpu_chunk_trials
    if platform != "cpu" or chunk_trials <= 0 or settings.scan == "associative":
        return 0
    if n_participants * n_trials <= CHUNKS_FROM * chunk_trials:
        return 0
    return max(1, chunk_trials // n_trials)


@dataclass(frozen=True)
class Runtime:
    """Where a fit's chains run and how: the platform and device, the chain method,
    the likelihood scan and participants per likelihood chunk (0: none)."""

    platform: str
    device: Any
    method: str
    scan: str
    chunk: int


def resolve_runtime(
    model: BehaviouralModel, data: TaskData, settings: SamplerSettings, log: logging.Logger = LOG
) -> Runtime:
    """The runtime of one fit from its settings and data size, logged."""
    import jax

    platform = select_device(settings.device, log)
    method = chain_method(platform, settings.chains)
    device = jax.devices(platform)[0]
    log.info(
        "model %s on %d participants x %d trials (%d groups); %s, chains %s",
        model.name,
        data.n_participants,
        data.n_trials,
        data.n_groups,
        device,
        method,
    )
    scan = resolve_scan(settings.scan, platform, model)
    if settings.scan == "auto":
        log.info("likelihood: %s scan (sampler.scan: auto)", scan)
    chunk = participant_chunk(settings, platform, data.n_participants, data.n_trials)
    if chunk:
        log.info(
            "likelihood in chunks of %d participants (sampler.cpu_chunk_trials: %d)",
            chunk,
            settings.cpu_chunk_trials,
        )
    return Runtime(platform, device, method, scan, chunk)
