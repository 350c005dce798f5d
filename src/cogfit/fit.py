"""Fit a hierarchical model with NUTS and package the result as ArviZ InferenceData."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cogfit.data import TaskData, data_hash, task_data_from_trials
from cogfit.errors import ConfigError
from cogfit.likelihood import SCANS
from cogfit.models import BehaviouralModel, get_model
from cogfit.settings import settings_from_mapping

LOG = logging.getLogger("cogfit.fit")
DEVICES = ("auto", "cpu", "gpu")
PRECISIONS = ("float32", "float64")
INITS = ("advi", "uniform")
METRICS = ("auto", "diag", "dense", "block")
#: the sampler settings that take one of a few words, and those words
CHOICES = {
    "device": DEVICES,
    "precision": PRECISIONS,
    "scan": ("auto", *SCANS),
    "init": INITS,
    "metric": METRICS,
}
#: metric auto is dense when the diagonal warm-up keeps this many draws per coordinate of
#: the whole model (``dense``) or else of the largest parameter block (``block``)
DENSE_DRAWS_PER_DIM = 2
#: on the CPU, data of more than this many likelihood blocks' worth of trials run in blocks
BLOCKS_FROM = 4
#: parallel CPU chains with participant blocks run in executions of this many iterations
#: (see :mod:`cogfit.segments`)
SEGMENT_ITERATIONS = 100
#: above this many coordinates per block a dense metric (D x D per leapfrog step, an
#: eigendecomposition of D x D) costs more than any gain: diagonal, even when asked
DENSE_MAX_DIM = 4000
EXTRA_FIELDS = (
    "diverging",
    "num_steps",
    "energy",
    "potential_energy",
    "accept_prob",
    "adapt_state.step_size",
)


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings; the config's ``sampler`` section maps onto these fields."""

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    seed: int = 2026
    device: str = "auto"  # auto | cpu | gpu
    precision: str = "float32"  # float32 | float64
    scan: str = "auto"  # auto | sequential | associative (models with an affine update)
    init: str = "advi"  # advi (start points + metric from a short ADVI fit) | uniform
    metric: str = "auto"  # auto | diag | dense | block (dense, block: from warm-up draws)
    cpu_block_trials: int = 100_000  # CPU likelihood blocks of about this many trials; 0: none

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"sampler.{name}: expected one of {list(allowed)}, got {value!r}")
        if self.cpu_block_trials < 0:
            raise ConfigError(
                "sampler.cpu_block_trials: expected 0 (no blocks) or a positive number "
                f"of trials, got {self.cpu_block_trials}"
            )

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SamplerSettings:
        return settings_from_mapping(cls, cfg, "sampler")


# XLA CPU options cogfit runs with unless XLA_FLAGS already sets them. Copy insertion with
# region analysis drops the per-iteration copies of loop-carried buffers that the default
# inserts into every while loop; each copy is a separately dispatched kernel, and in the
# likelihood's scan (about ten small kernels per trial step) dispatch is most of the cost:
# the gradient at 200 participants x 200 trials took 8.8 instead of 10.7 ns per trial,
# with bit-identical draws. The option exists in every jaxlib from 0.6 on (an unknown
# XLA flag aborts the process, so it is not set blindly for other libraries).
XLA_CPU_DEFAULTS = {"xla_cpu_copy_insertion_use_region_analysis": "true"}
# Entries of XLA's ``--xla_backend_extra_options`` map (``key=value,key=value``). XLA:CPU
# compiles a while loop whose buffers total less than this many bytes as one kernel
# (loop inside) instead of dispatching every op of every iteration from its runtime; the
# default (1 kB) leaves out the likelihood's scan and NUTS' trajectory loop, so the
# sampler paid ~100 ns of dispatch per op per step. With every loop compiled whole:
# sampling at 20 x 100 took 1.0 instead of 2.9 s, at 200 x 200 15.5 instead of 25 s,
# draws bit-identical; gradients at 1000 and 10,000 participants (compute-bound) did not
# change. XLA:CPU's legacy fusion emitters (instead of its newer MLIR-based ones) compile
# a NUTS program in about two thirds of the time: a 20 x 100 fit took 8.9-9.6 instead of
# 11.0-11.8 s, 200 x 200 28.5-29.5 instead of 30-30.7 s, with bit-identical draws (rw,
# rw_dual, rw_persev; with participant blocks rounding differs, so draws part ways) and
# the same sequential-scan gradients up to 10,000 x 200; the
# associative scan's CPU gradient is about twice as slow with them (it is never ``auto``'s
# choice on a CPU). Keys starting with ``xla_`` are read by XLA itself (never passed to
# LLVM), and an unknown key is ignored, so older jaxlibs and the GPU backend run
# unaffected. XLA reads a boolean key by its presence alone (``...=false`` still turns it
# on: measured), so :func:`configure_xla` drops entries set to ``false``: that is how a
# user turns one of these off.
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

    Why: a sequential scan runs one loop iteration per trial, and a GPU pays a few
    microseconds of launch and loop control per iteration however little each does (at
    200 trials, forward and backward, milliseconds per gradient for any number of
    participants); the parallel-prefix scan has logarithmic depth. On the CPU the
    sequential scan is faster (fewer operations, no launches): 31 against 75 ns per trial
    at 10,000 x 200 here.
    """
    if requested != "auto":
        return requested
    return "associative" if platform == "gpu" and model.linear is not None else "sequential"


def participant_block(
    settings: SamplerSettings, platform: str, n_participants: int, n_trials: int
) -> int:
    """Participants per likelihood block (0: all at once; see
    :func:`cogfit.likelihood.participant_log_lik`).

    CPU only (on a GPU blocks would run one after another and idle the device), sequential
    scan only (``auto`` is sequential on the CPU), and only for data of more than
    ``BLOCKS_FROM`` blocks: in real fits (4 x (50 + 200)) blocks took as long as one loop
    at 2000 x 200 (72 s against 71 s) and 107 s against 389 s at 3000 x 200, where the
    one loop's working set has left the caches.
    """
    block_trials = settings.cpu_block_trials
    if platform != "cpu" or block_trials <= 0 or settings.scan == "associative":
        return 0
    if n_participants * n_trials <= BLOCKS_FROM * block_trials:
        return 0
    return max(1, block_trials // n_trials)


@dataclass(frozen=True)
class MetricPlan:
    """Which metric NUTS uses: ``diag``, or dense ``blocks`` of sample sites (one block
    of every site for ``dense``; a parameter's mean, sd and offsets for ``block``)
    estimated from a diagonal warm-up and fixed for the last ``dense_warmup`` iterations."""

    kind: str
    blocks: tuple[tuple[str, ...], ...] = ()
    dense_warmup: int = 0
    block_dim: int = 0  # coordinates per block


def plan_metric(
    settings: SamplerSettings,
    model: BehaviouralModel,
    n_participants: int,
    n_groups: int,
    log: logging.Logger = LOG,
) -> MetricPlan:
    """Choose the metric (``sampler.metric``) for a model and data size.

    The dense metric is estimated from the second half of the first three quarters of
    warm-up (see :func:`sample_posterior`) and kept fixed while the last quarter adapts
    the step size. It costs a D x D product per leapfrog step (one per block), and needs
    enough draws: ``auto`` takes ``dense`` when the kept draws number
    ``DENSE_DRAWS_PER_DIM`` per coordinate, else ``block`` when they do per coordinate of
    one parameter's block, else ``diag``.
    """
    from cogfit.hierarchical import site_names

    per_param = tuple(
        tuple(sorted(site_names(spec.name)[k] for k in ("mu", "sigma", "offset")))
        for spec in model.params
    )
    block_dim = 2 * n_groups + n_participants
    dims = {"dense": block_dim * len(per_param), "block": block_dim}
    blocks = {"dense": (tuple(sorted(sum(per_param, ()))),), "block": per_param}
    dense = settings.warmup // 4
    draws = settings.chains * ((settings.warmup - dense) // 2)
    kind = settings.metric
    if kind == "auto":
        fits = [k for k in ("dense", "block") if draws >= DENSE_DRAWS_PER_DIM * dims[k]]
        kind = fits[0] if fits else "diag"
    if kind == "diag" or dense < 1 or draws < 2 * settings.chains:
        return MetricPlan("diag")
    if dims[kind] > DENSE_MAX_DIM:
        log.warning(
            "metric %s: blocks of %d coordinates exceed %d; using a diagonal metric",
            kind,
            dims[kind],
            DENSE_MAX_DIM,
        )
        return MetricPlan("diag")
    if draws < dims[kind]:
        log.warning(
            "metric %s: %d warm-up draws for blocks of %d coordinates; the estimate keeps "
            "only the strongest correlations (more warm-up or chains would help)",
            kind,
            draws,
            dims[kind],
        )
    return MetricPlan(kind, blocks[kind], dense, dims[kind])


def block_coordinates(
    shapes: Mapping[str, tuple[int, ...]], blocks: tuple[tuple[str, ...], ...]
) -> dict[tuple[str, ...], np.ndarray]:
    """Each block's coordinates in NumPyro's flat vector of all sample sites (sites in
    name order, raveled; :data:`WarmStart.inverse_mass_matrix` is in that order). Within
    a block, coordinates follow its sites in the order named, as NumPyro's ``dense_mass``."""
    offsets, at = {}, 0
    for name in sorted(shapes):
        size = int(np.prod(shapes[name], dtype=np.int64))
        offsets[name] = np.arange(at, at + size)
        at += size
    return {block: np.concatenate([offsets[name] for name in block]) for block in blocks}


def block_draws(draws: Mapping[str, np.ndarray], block: tuple[str, ...]) -> np.ndarray:
    """A block's draws ``[chains * n, D]`` (chain-major) from unconstrained draws with
    leaves ``[chains, n, ...]``, its coordinates in NumPyro's order."""
    parts = [np.asarray(draws[name]) for name in block]
    chains, n = parts[0].shape[:2]
    return np.concatenate([p.reshape(chains, n, -1) for p in parts], axis=-1).reshape(
        chains * n, -1
    )


def sample_posterior(
    model: BehaviouralModel, data: TaskData, settings: SamplerSettings, log: logging.Logger = LOG
) -> tuple[Any, dict[str, Any]]:
    """Run NUTS with progress logged from inside the loop; return the draws (a
    :class:`cogfit.segments.SegmentedRun`, read like NumPyro's ``MCMC``) and timings.

    All phases are executions of one compiled program (:class:`cogfit.segments.Chains`).
    A diagonal metric is adapted by NumPyro. A dense or block metric (:func:`plan_metric`)
    is set on the host: the chains start with the ADVI scales (or the identity) in a
    dense-shaped metric NumPyro does not adapt; a diagonal estimate from the second
    quarter of the first phase replaces it halfway, the dense estimate from the second
    half follows at its end, and the last ``dense_warmup`` iterations adapt the step size.
    """
    import jax
    from numpyro.infer import init_to_uniform

    from cogfit.hierarchical import hierarchical_model, prior_median_point
    from cogfit.progress import Progress, ReportingNUTS
    from cogfit.segments import Chains
    from cogfit.warmstart import (
        advi_start,
        diagonal_metric,
        spiked_covariance,
        uniform_start,
    )

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
    block = participant_block(settings, platform, data.n_participants, data.n_trials)
    if block:
        log.info(
            "likelihood in blocks of %d participants (sampler.cpu_block_trials: %d)",
            block,
            settings.cpu_block_trials,
        )
    with jax.default_device(device), precision(settings.precision):
        args = (
            model,
            jax.device_put(data.choices, device),
            jax.device_put(data.outcomes.astype(settings.precision), device),
            jax.device_put(data.mask, device),
            jax.device_put(data.group_index, device),
            data.n_groups,
            data.n_options,
            scan,
            block,
        )
        t0 = time.perf_counter()
        rng, rng_start = jax.random.split(jax.random.PRNGKey(settings.seed))
        # jitted: built eagerly, the prior medians cost one small compile per op (~0.5 s)
        point = jax.jit(prior_median_point, static_argnums=(0, 1, 2))(
            model, data.n_participants, data.n_groups
        )
        shapes = {k: v.shape for k, v in point.items()}
        plan = plan_metric(settings, model, data.n_participants, data.n_groups, log)
        first = settings.warmup - plan.dense_warmup  # warm-up that estimates a dense metric
        quarter, half = first // 4, first // 2  # a diagonal from quarter-half, dense half-first
        nuts = {
            "target_accept_prob": settings.target_accept,
            "max_tree_depth": settings.max_tree_depth,
            "init_strategy": init_to_uniform(radius=1.0),
        }
        if plan.kind == "diag":
            log.info(
                "warm-up %d + sampling %d iterations per chain, diagonal metric",
                settings.warmup,
                settings.samples,
            )
        else:
            log.info(
                "warm-up: %d iterations to estimate a %s metric (%d x %d coordinates; a "
                "diagonal from iterations %d-%d, the %s from %d-%d), then %d of step-size "
                "adaptation; %d draws",
                first,
                plan.kind,
                len(plan.blocks),
                plan.block_dim,
                quarter,
                half,
                plan.kind,
                half,
                first,
                plan.dense_warmup,
                settings.samples,
            )
            nuts["dense_mass"] = list(plan.blocks)
            nuts["adapt_mass_matrix"] = False
            nuts["inverse_mass_matrix"] = {b: np.eye(plan.block_dim) for b in plan.blocks}
        progress = Progress(settings.warmup, settings.samples, settings.chains, method, log=log)
        # parallel CPU chains with blocks: executions of at most SEGMENT_ITERATIONS
        # (see cogfit.segments); otherwise as long as the longest collected phase
        longest = settings.samples if plan.kind == "diag" else max(settings.samples, first - half)
        length = SEGMENT_ITERATIONS if block and method == "parallel" else longest
        dtype = next(iter(point.values())).dtype
        dim = sum(int(np.prod(v, dtype=np.int64)) for v in shapes.values())
        if settings.init == "advi":  # start and metric given later: compiled meanwhile
            init_params: Any = {
                k: jax.ShapeDtypeStruct((settings.chains, *v), dtype) for k, v in shapes.items()
            }
            metric: Any = jax.ShapeDtypeStruct((dim,), dtype)
            if plan.kind != "diag":
                square = jax.ShapeDtypeStruct((plan.block_dim, plan.block_dim), dtype)
                metric = dict.fromkeys(plan.blocks, square)
        else:  # NumPyro's own start (uniform on [-1, 1], unconstrained) and unit metric
            init_params = metric = None
        chains = Chains(
            ReportingNUTS(hierarchical_model, progress, **nuts),
            rng,
            args,
            settings.warmup,
            settings.chains,
            method,
            init_params,
            metric,
            length=length,
            extra_fields=EXTRA_FIELDS,
            unconstrained=plan.kind != "diag",
            log=log,
        )
        if settings.init == "advi":
            start = advi_start(hierarchical_model, args, point, rng_start, settings.chains, log=log)
            if start is None:  # what NumPyro's init_to_uniform(radius=1) draws
                init_params = uniform_start(shapes, dtype, rng_start, settings.chains)
                diag = np.ones(dim)
            else:
                init_params = jax.tree.map(np.asarray, start.init_params)
                diag = np.asarray(start.inverse_mass_matrix)
            if plan.kind == "diag":
                metric = diag
            else:
                coords = block_coordinates(shapes, plan.blocks)
                metric = {b: np.diag(diag[i]) for b, i in coords.items()}
            chains.start(init_params, metric)
        if plan.kind == "diag":
            run = chains.advance((settings.warmup, False), (settings.samples, True))
        else:
            if half - quarter >= 2:  # a variance needs two draws per chain
                kept = chains.advance((quarter, False), (half - quarter, True)).unconstrained
                chains.set_metric(
                    {b: diagonal_metric(block_draws(kept, b), settings.chains) for b in plan.blocks}
                )
            else:
                chains.advance((half, False))
            kept = chains.advance((first - half, True)).unconstrained
            metric = {}
            for b in plan.blocks:
                metric[b] = spiked_covariance(block_draws(kept, b), settings.chains)
            chains.set_metric(metric)
            log.info("%s metric set from %d draws per chain", plan.kind, first - half)
            run = chains.advance((plan.dense_warmup, False), (settings.samples, True))
        t2 = time.perf_counter()
    warmup_s, sampling_s = progress.split(t2)
    warmup_s += progress.start - t0  # the start (ADVI) belongs to warm-up
    n_div = int(np.asarray(run.get_extra_fields()["diverging"]).sum())
    log.info(
        "done in %.1f s: start + compilation + warm-up %.1f s, sampling %.1f s; "
        "%d divergent transitions",
        t2 - t0,
        warmup_s,
        sampling_s,
        n_div,
    )
    timings = {
        "warmup_s": warmup_s,
        "sampling_s": sampling_s,
        "wall_time_s": t2 - t0,
        "device": str(device),
        "platform": platform,
        "chain_method": method,
        "scan": scan,
    }
    return run, timings


def to_inference_data(
    model: BehaviouralModel,
    mcmc: Any,
    data: TaskData,
    settings: SamplerSettings,
    timings: Mapping[str, Any],
    dataset: str,
) -> Any:
    """Package draws, sample stats, log-likelihood, data and provenance as InferenceData."""
    import arviz as az
    import jax
    import numpyro

    import cogfit
    from cogfit.hierarchical import LOG_LIK_SITE, site_names

    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    log_lik = samples.pop(LOG_LIK_SITE)  # [chains, draws, P], computed with each draw
    dims: dict[str, list[str]] = {}
    for name in model.param_names:
        sites = site_names(name)
        for key in ("mu", "sigma", "mu_natural"):
            dims[sites[key]] = ["group"]
        for key in ("offset", "theta"):
            dims[sites[key]] = ["participant"]
    extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    n_steps = extra["num_steps"].astype(np.int64)
    sample_stats = {
        "diverging": extra["diverging"].astype(bool),
        "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(np.int64) + 1,
        "energy": extra["energy"],
        "lp": -extra["potential_energy"],
        "acceptance_rate": extra["accept_prob"],
        "step_size": extra["adapt_state.step_size"],
    }
    observed = np.where(data.mask, data.choices, -1).astype(np.int32)
    coords = {
        "group": list(data.groups),
        "participant": list(data.participants),
        "trial": np.arange(data.n_trials),
    }
    idata = az.from_dict(
        posterior=samples,
        sample_stats=sample_stats,
        observed_data={"choice": observed},
        constant_data={
            "outcome": data.outcomes,
            "mask": data.mask,
            "group_index": data.group_index,
        },
        coords=coords,
        dims={
            **dims,
            "choice": ["participant", "trial"],
            "outcome": ["participant", "trial"],
            "mask": ["participant", "trial"],
            "group_index": ["participant"],
        },
    )
    # "choice" is per participant in log_likelihood but per trial in observed_data, so the
    # log-likelihood group gets its own dims.
    idata.extend(
        az.from_dict(
            log_likelihood={"choice": log_lik},
            coords={"participant": list(data.participants)},
            dims={"choice": ["participant"]},
        )
    )
    attrs = {
        "model": model.name,
        "dataset": dataset,
        "parameters": ",".join(model.param_names),
        "priors": json.dumps([asdict(p) for p in model.params]),
        "n_options": data.n_options,
        "cogfit_version": cogfit.__version__,
        "jax_version": jax.__version__,
        "numpyro_version": numpyro.__version__,
        "arviz_version": az.__version__,
        "device": str(timings["device"]),
        "platform": str(timings["platform"]),
        "chain_method": str(timings["chain_method"]),
        "scan": str(timings["scan"]),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "precision": settings.precision,
        "seed": settings.seed,
        "max_tree_depth": settings.max_tree_depth,
        "sampler_settings": json.dumps(asdict(settings)),
        "data_hash": data_hash(data),
        "model_hash": model.spec_hash(),
        "warmup_s": float(timings["warmup_s"]),
        "sampling_s": float(timings["sampling_s"]),
        "wall_time_s": float(timings["wall_time_s"]),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    for group in ("posterior", "sample_stats", "log_likelihood"):
        getattr(idata, group).attrs.update(attrs)
    return idata


def fit(
    model_name: str,
    data: TaskData,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    dataset: str = "",
    log: logging.Logger = LOG,
) -> Any:
    """Fit ``model_name`` to ``data`` and return InferenceData."""
    model = get_model(model_name).with_priors(priors)
    mcmc, timings = sample_posterior(model, data, settings, log)
    return to_inference_data(model, mcmc, data, settings, timings, dataset)


def run_fit(
    trials_path: str,
    out_path: str,
    dataset: str,
    model_name: str,
    n_options: int,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    log: logging.Logger = LOG,
) -> None:
    """Read cleaned trials, fit, and write posterior.nc atomically."""
    import pandas as pd

    from cogfit.io import write_netcdf

    data = task_data_from_trials(pd.read_parquet(trials_path), n_options)
    idata = fit(model_name, data, settings, priors, dataset, log)
    write_netcdf(idata, out_path)
    log.info("wrote %s", out_path)
