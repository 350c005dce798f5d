"""The sampling phases of a fit: NUTS chains started, warmed up and sampled.

All phases are executions of one compiled program (:class:`cogfit.segments.Chains`).
The programs are built for the start's shapes and compile while the ADVI start
(:mod:`cogfit.warmstart`) is computed. A diagonal metric is adapted by NumPyro. A dense
or mass-blocks metric (:func:`cogfit.metric.plan_metric`) is set on the host: the chains start
with the ADVI scales (or the identity) in a dense-shaped metric NumPyro does not adapt; a
diagonal estimate from the second quarter of the first phase replaces it halfway, the
dense estimate from the second half follows at its end, and the last ``dense_warmup``
iterations adapt the step size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cogfit.metric import (
    MetricPlan,
    mass_block_coordinates,
    mass_block_draws,
    plan_metric,
    warmup_windows,
)
from cogfit.runtime import Runtime, precision, resolve_runtime

if TYPE_CHECKING:
    from cogfit.data import TaskData
    from cogfit.fit import SamplerSettings
    from cogfit.models import BehaviouralModel
    from cogfit.progress import Progress
    from cogfit.segments import Chains, SegmentedRun

LOG = logging.getLogger("cogfit.sampling")
#: parallel CPU chains with participant chunks run in executions of this many iterations
#: (see :mod:`cogfit.segments`)
SEGMENT_ITERATIONS = 100
#: the kernel state's fields collected with every draw (read by :mod:`cogfit.packaging`)
EXTRA_FIELDS = (
    "diverging",
    "num_steps",
    "energy",
    "potential_energy",
    "accept_prob",
    "adapt_state.step_size",
)


def sample_posterior(
    model: BehaviouralModel, data: TaskData, settings: SamplerSettings, log: logging.Logger = LOG
) -> tuple[SegmentedRun, dict[str, Any]]:
    """Run NUTS with progress logged from inside the loop; return the draws (a
    :class:`cogfit.segments.SegmentedRun`, read like NumPyro's ``MCMC``) and timings."""
    import jax

    from cogfit.progress import Progress

    runtime = resolve_runtime(model, data, settings, log)
    with jax.default_device(runtime.device), precision(settings.precision):
        args = model_args(model, data, settings, runtime)
        t0 = time.perf_counter()
        rng, rng_start = jax.random.split(jax.random.PRNGKey(settings.seed))
        point = start_point(model, data)
        plan = plan_metric(settings, model, data.n_participants, data.n_groups, log)
        log_schedule(settings, plan, log)
        progress = Progress(
            settings.warmup, settings.samples, settings.chains, runtime.method, log=log
        )
        chains = build_chains(settings, plan, runtime, progress, rng, args, point, log)
        if settings.init == "advi":  # the programs compile meanwhile
            chains.start(*advi_start_values(settings, plan, args, point, rng_start, log))
        run = warm_up_and_sample(chains, settings, plan, log)
        end = time.perf_counter()
    return run, timings(progress, t0, end, run, runtime, log)


def model_args(
    model: BehaviouralModel, data: TaskData, settings: SamplerSettings, runtime: Runtime
) -> tuple:
    """The hierarchical model's arguments (:func:`cogfit.hierarchical.hierarchical_model`),
    the data placed on the fit's device in its precision."""
    import jax

    device = runtime.device
    return (
        model,
        jax.device_put(in_precision(data.scan_inputs(model), settings.precision), device),
        jax.device_put(data.group_index, device),
        data.n_groups,
        data.n_options,
        runtime.scan,
        runtime.chunk,
    )


def in_precision(trials: Mapping[str, np.ndarray], precision: str) -> dict[str, np.ndarray]:
    """The real-valued trial columns in the fit's precision; the others as they are."""
    return {
        k: v.astype(precision) if np.issubdtype(v.dtype, np.floating) else v
        for k, v in trials.items()
    }


def start_point(model: BehaviouralModel, data: TaskData) -> dict[str, Any]:
    """Every sample site at its prior median (unconstrained), where ADVI starts."""
    import jax

    from cogfit.hierarchical import prior_median_point

    # jitted: run eagerly, every op of the prior medians would compile on its own
    return jax.jit(prior_median_point, static_argnums=(0, 1, 2))(
        model, data.n_participants, data.n_groups
    )


def log_schedule(settings: SamplerSettings, plan: MetricPlan, log: logging.Logger) -> None:
    """Log the warm-up and sampling iterations and, for a dense metric, its windows."""
    if plan.kind == "diag":
        log.info(
            "warm-up %d + sampling %d iterations per chain, diagonal metric",
            settings.warmup,
            settings.samples,
        )
        return
    quarter, half, first = warmup_windows(settings.warmup, plan)
    log.info(
        "warm-up: %d iterations to estimate a %s metric (%d x %d coordinates; a "
        "diagonal from iterations %d-%d, the %s from %d-%d), then %d of step-size "
        "adaptation; %d draws",
        first,
        plan.kind,
        len(plan.mass_blocks),
        plan.mass_block_dim,
        quarter,
        half,
        plan.kind,
        half,
        first,
        plan.dense_warmup,
        settings.samples,
    )


def nuts_options(settings: SamplerSettings, plan: MetricPlan) -> dict[str, Any]:
    """Keyword arguments of NumPyro's ``NUTS``: a dense or mass-blocks metric is dense-shaped
    and set on the host (:meth:`cogfit.segments.Chains.set_metric`), not adapted."""
    from numpyro.infer import init_to_uniform

    nuts: dict[str, Any] = {
        "target_accept_prob": settings.target_accept,
        "max_tree_depth": settings.max_tree_depth,
        "init_strategy": init_to_uniform(radius=1.0),
    }
    if plan.kind != "diag":
        nuts["dense_mass"] = list(plan.mass_blocks)
        nuts["adapt_mass_matrix"] = False
        nuts["inverse_mass_matrix"] = {b: np.eye(plan.mass_block_dim) for b in plan.mass_blocks}
    return nuts


def site_layout(point: dict[str, Any]) -> tuple[dict[str, tuple[int, ...]], Any, int]:
    """(shape of every sample site, their dtype, coordinates in all) of a point."""
    shapes = {k: v.shape for k, v in point.items()}
    dtype = next(iter(point.values())).dtype
    dim = sum(int(np.prod(v, dtype=np.int64)) for v in shapes.values())
    return shapes, dtype, dim


def start_shapes(settings: SamplerSettings, plan: MetricPlan, point: dict[str, Any]) -> tuple:
    """(start values, start metric) as shapes for the ADVI start, given later (the
    programs compile meanwhile); (None, None) for NumPyro's own start (uniform on
    [-1, 1], unconstrained) and unit metric."""
    import jax

    if settings.init != "advi":
        return None, None
    shapes, dtype, dim = site_layout(point)
    init_params = {k: jax.ShapeDtypeStruct((settings.chains, *v), dtype) for k, v in shapes.items()}
    metric: Any = jax.ShapeDtypeStruct((dim,), dtype)
    if plan.kind != "diag":
        square = jax.ShapeDtypeStruct((plan.mass_block_dim, plan.mass_block_dim), dtype)
        metric = dict.fromkeys(plan.mass_blocks, square)
    return init_params, metric


def execution_length(settings: SamplerSettings, plan: MetricPlan, runtime: Runtime) -> int:
    """The most iterations one execution runs: ``SEGMENT_ITERATIONS`` for parallel CPU
    chains with participant chunks (see :mod:`cogfit.segments`), else the longest
    collected phase."""
    _, half, first = warmup_windows(settings.warmup, plan)
    longest = settings.samples if plan.kind == "diag" else max(settings.samples, first - half)
    return SEGMENT_ITERATIONS if runtime.chunk and runtime.method == "parallel" else longest


def build_chains(
    settings: SamplerSettings,
    plan: MetricPlan,
    runtime: Runtime,
    progress: Progress,
    rng: Any,
    args: tuple,
    point: dict[str, Any],
    log: logging.Logger,
) -> Chains:
    """The chains and their compiled programs (started already unless the start is ADVI's)."""
    from cogfit.hierarchical import hierarchical_model
    from cogfit.progress import ReportingNUTS
    from cogfit.segments import Chains

    init_params, metric = start_shapes(settings, plan, point)
    return Chains(
        ReportingNUTS(hierarchical_model, progress, **nuts_options(settings, plan)),
        rng,
        args,
        settings.warmup,
        settings.chains,
        runtime.method,
        init_params,
        metric,
        length=execution_length(settings, plan, runtime),
        extra_fields=EXTRA_FIELDS,
        unconstrained=plan.kind != "diag",
        log=log,
    )


def advi_start_values(
    settings: SamplerSettings,
    plan: MetricPlan,
    args: tuple,
    point: dict[str, Any],
    rng: Any,
    log: logging.Logger,
) -> tuple[dict[str, np.ndarray], Any]:
    """(start values, start metric) from a short ADVI fit; where it fails, what NumPyro's
    ``init_to_uniform(radius=1)`` draws and a unit metric. A dense or mass-blocks
    metric starts as the diagonal of the ADVI scales."""
    import jax

    from cogfit.hierarchical import hierarchical_model
    from cogfit.warmstart import advi_start, uniform_start

    shapes, dtype, dim = site_layout(point)
    start = advi_start(hierarchical_model, args, point, rng, settings.chains, log=log)
    if start is None:
        init_params = uniform_start(shapes, dtype, rng, settings.chains)
        diag = np.ones(dim)
    else:
        init_params = jax.tree.map(np.asarray, start.init_params)
        diag = np.asarray(start.inverse_mass_matrix)
    if plan.kind == "diag":
        return init_params, diag
    coords = mass_block_coordinates(shapes, plan.mass_blocks)
    return init_params, {b: np.diag(diag[i]) for b, i in coords.items()}


def warm_up_and_sample(
    chains: Chains, settings: SamplerSettings, plan: MetricPlan, log: logging.Logger
) -> SegmentedRun:
    """Warm the chains up (estimating a dense or mass-blocks metric on the way) and sample."""
    if plan.kind == "diag":
        return chains.advance((settings.warmup, False), (settings.samples, True))
    estimate_dense_metric(chains, settings, plan, log)
    return chains.advance((plan.dense_warmup, False), (settings.samples, True))


def estimate_dense_metric(
    chains: Chains, settings: SamplerSettings, plan: MetricPlan, log: logging.Logger
) -> None:
    """The first part of warm-up (:func:`cogfit.metric.warmup_windows`): a diagonal
    metric from the draws of iterations quarter-half, then the dense mass blocks from those
    of half-first, each set on the chains when estimated."""
    from cogfit.warmstart import diagonal_metric, spiked_covariance

    quarter, half, first = warmup_windows(settings.warmup, plan)
    if half - quarter >= 2:  # a variance needs two draws per chain
        kept = chains.advance((quarter, False), (half - quarter, True)).unconstrained
        chains.set_metric(
            {
                b: diagonal_metric(mass_block_draws(kept, b), settings.chains)
                for b in plan.mass_blocks
            }
        )
    else:
        chains.advance((half, False))
    kept = chains.advance((first - half, True)).unconstrained
    chains.set_metric(
        {b: spiked_covariance(mass_block_draws(kept, b), settings.chains) for b in plan.mass_blocks}
    )
    log.info("%s metric set from %d draws per chain", plan.kind, first - half)


def timings(
    progress: Progress,
    t0: float,
    end: float,
    run: SegmentedRun,
    runtime: Runtime,
    log: logging.Logger,
) -> dict[str, Any]:
    """The fit's wall time split into warm-up (with the start) and sampling, and where it
    ran; logged with the number of divergent transitions."""
    warmup_s, sampling_s = progress.split(end)
    warmup_s += progress.start - t0  # the start (ADVI) belongs to warm-up
    n_div = int(np.asarray(run.get_extra_fields()["diverging"]).sum())
    log.info(
        "done in %.1f s: start + compilation + warm-up %.1f s, sampling %.1f s; "
        "%d divergent transitions",
        end - t0,
        warmup_s,
        sampling_s,
        n_div,
    )
    return {
        "warmup_s": warmup_s,
        "sampling_s": sampling_s,
        "wall_time_s": end - t0,
        "device": str(runtime.device),
        "platform": runtime.platform,
        "chain_method": runtime.method,
        "scan": runtime.scan,
    }
