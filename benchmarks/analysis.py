"""Time and memory of the analysis stages that follow every fit (marginal likelihood, PPC,
regressors, contrasts, model comparison), against the fit itself.

    python benchmarks/analysis.py [--parts example memory growth] [--models rw ...]
        [--memory-draws 4 16] [--load-draws 8000] [--growth-draws 640]
        [--participants 10000] [--trials 200] [--no-xla-variant] [--no-cache-variant]
    python benchmarks/analysis.py --report    # analysis.md again from analysis.json

Part ``example`` (the issue's "the new stages take less than a quarter of the fit time"):
the embedded example (``data/example/bandit.csv``, cleaned afresh with
``config/config.yaml``) is fitted once per model with the config's sampler settings, each
fit in its own process started as ``scripts/fit.py`` starts one (``configure_xla(chains)``
before JAX), timing ``cogfit.fit.fit`` in-process. Each stage then runs in its own
process at the schema's default settings, as its job script runs it (no XLA options),
called twice: the first call includes compilation, the second is warm. The start-up of
one stage job is the wall time of ``python -c "import cogfit.marginal, arviz"`` (median
of three). Where the marginal likelihood's time goes (compilation and computation of
its two programs) is timed in one more process. Two candidate fixes, measured here only:
the JAX stages in processes that set cogfit's XLA options first (``configure_xla(1)``,
as a fit does), and the marginal likelihood's first call in a process that finds its
programs in a persistent JAX compilation cache filled by the process before it.

Part ``memory`` (the issue's "PPC, regressors and the marginal likelihood stay within a
fixed memory budget ... (chunked)"): a synthetic two-group ``posterior.nc`` of
``--participants`` x ``--trials`` (data from ``benchmarks/simdata.py``, draws around the
known parameters, written by ``cogfit.packaging.to_inference_data`` so every variable and
attribute is a fit's) is read by each stage in its own process at two numbers of draws;
recorded: peak RSS (``ru_maxrss``) after imports, after loading what the stage loads whole
(the fit's data; the marginal likelihood's group draws), and at the end, the stage's wall
time, and time per draw (the difference of the two runs over the difference of draws),
extrapolated to 8,000 draws. Then a posterior.nc of ``--load-draws`` draws is written and
each stage's process reads what it uses of it as the stage does (no computation): the
file's size, the most held at once and the RSS.

Part ``growth`` (not in the default): PPC and regressors at ``--growth-draws`` draws of
the same data, for how their peak grows with the number of draws; then both at the memory
part's largest draw count and at ``--growth-draws`` with glibc's ``MALLOC_MMAP_THRESHOLD_``
at 1 MiB (large arrays mmapped, so freed ones leave no heap fragments) and tracemalloc on
(the peak of what Python and NumPy hold).

Results: ``benchmarks/results/analysis.{json,md}`` (a part that is not rerun keeps its
previous results). Each process prints one ``RESULT {json}`` line that the parent reads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CONFIG = ROOT / "config" / "config.yaml"
DATASET = "example"
MODELS = ("rw", "rw_dual", "rw_persev")
JAX_STAGES = ("marginal", "ppc", "regressors")
STAGES = (*JAX_STAGES, "contrasts")
STARTUP_CMD = "import cogfit.marginal, arviz"
TARGET_DRAWS = 8000
#: the allocator variant of part growth: glibc then mmaps every allocation of at least this
#: many bytes and returns it to the system when freed (no heap fragmentation by them)
MMAP_THRESHOLD = 1 << 20
TARGET_RATIO = 0.25
MEMORY_MODEL = "rw"
MEMORY_CHAINS = 4


# --------------------------------------------------------------------------- helpers


def peak_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    """Resident memory of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def emit(result: dict[str, Any]) -> None:
    """The one line a child hands back to its parent."""
    print("RESULT " + json.dumps(result), flush=True)


def child(
    kind: str, args: dict[str, Any], timeout: float = 900, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``kind`` in a fresh Python process (``env`` added to the environment) and return
    its RESULT."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "child", kind, json.dumps(args)]
    t0 = time.perf_counter()
    environ = {**os.environ, **(env or {})}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=environ
    )
    wall = time.perf_counter() - t0
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise RuntimeError(f"child {kind} {args.get('stage', args.get('model', ''))} failed")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["process_wall_s"] = wall
    return result


def load_config() -> dict[str, Any]:
    """config/config.yaml, validated and with the schema's defaults filled in."""
    import yaml

    from cogfit.schema import SCHEMA_PATH, validate_config

    cfg = yaml.safe_load(CONFIG.read_text())
    validate_config(cfg, SCHEMA_PATH)
    return cfg


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- children


def child_fit(args: dict[str, Any]) -> dict[str, Any]:
    """One fit as scripts/fit.py runs it, timing cogfit.fit.fit in-process."""
    from cogfit.fit import SamplerSettings
    from cogfit.runtime import configure_xla

    cfg = load_config()
    sampler = dict(cfg["sampler"])
    sampler.update({k: args[k] for k in ("warmup", "samples") if args.get(k) is not None})
    settings = SamplerSettings.from_config(sampler)
    configure_xla(settings.chains)  # before JAX starts, as scripts/fit.py does

    import pandas as pd

    from cogfit.data import task_data_from_trials
    from cogfit.fit import fit
    from cogfit.io import write_netcdf

    section = cfg["datasets"][DATASET]
    data = task_data_from_trials(pd.read_parquet(args["trials"]), section["n_options"])
    t0 = time.perf_counter()
    idata = fit(args["model"], data, settings, section["priors"], DATASET)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_netcdf(idata, args["out"])
    attrs = idata.posterior.attrs
    return {
        "model": args["model"],
        "fit_s": fit_s,
        "write_s": time.perf_counter() - t0,
        "warmup_s": float(attrs["warmup_s"]),
        "sampling_s": float(attrs["sampling_s"]),
        "participants": data.n_participants,
        "trials": data.n_trials,
        "chains": settings.chains,
        "warmup": settings.warmup,
        "samples": settings.samples,
        "peak_rss_mb": peak_mb(),
    }


def stage_call(stage: str, args: dict[str, Any], out: str) -> None:
    """One call of a stage's run_* function, as its job script makes it."""
    cfg = load_config() if args.get("example") else {}
    seed = int(cfg.get("sampler", {}).get("seed", 2026))
    draws = args.get("draws")
    if stage == "marginal":
        from cogfit.marginal import CompareSettings, run_marginal

        settings = CompareSettings() if draws is None else CompareSettings(draws=draws)
        run_marginal(args["posterior"], out, settings, seed=seed)
    elif stage == "ppc":
        from cogfit.ppc import PPCSettings, run_ppc

        settings = PPCSettings() if draws is None else PPCSettings(draws=draws)
        run_ppc(args["posterior"], args["trials"], out, settings, seed=seed)
    elif stage == "regressors":
        from cogfit.regressors import RegressorSettings, run_regressors

        settings = RegressorSettings() if draws is None else RegressorSettings(draws=draws)
        run_regressors(args["posterior"], args["trials"], out, settings)
    elif stage == "contrasts":
        from cogfit.contrasts import run_contrasts
        from cogfit.schema import section_defaults

        hdi = float(section_defaults("diagnostics")["hdi_prob"])
        run_contrasts(args["posterior"], out, hdi_prob=hdi, pairs=(), rope={})
    elif stage == "compare":
        from cogfit.comparison import run_compare

        run_compare(args["marginals"], out, out + ".participants.parquet")
    else:
        raise ValueError(f"unknown stage {stage!r}")


def stage_imports(stage: str) -> None:
    """What the stage's job script imports before it calls the stage."""
    import arviz  # noqa: F401

    import cogfit.runner  # noqa: F401

    module = {"compare": "comparison"}.get(stage, stage)
    __import__(f"cogfit.{module}")


def loaded_draws(stage: str, path: str, draws: int) -> None:
    """Load what the stage loads whole before it computes (then let it go): the fit's data
    and, for the marginal likelihood, the group draws; PPC and regressors read their
    participant draws a block at a time while they compute."""
    from cogfit import fitted

    fit = fitted.load_fit(path)
    kept = fitted.group_draws(fit, draws) if stage == "marginal" else {}
    del fit, kept


def child_stage(args: dict[str, Any]) -> dict[str, Any]:
    """A stage in its own process: imports, then ``calls`` calls, each timed."""
    if args.get("xla") == "cogfit":
        from cogfit.runtime import configure_xla

        configure_xla(1)
    if args.get("cache_dir"):
        import jax

        jax.config.update("jax_compilation_cache_dir", args["cache_dir"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    stage, out_dir = args["stage"], Path(args["out_dir"])
    t0 = time.perf_counter()
    stage_imports(stage)
    if args.get("trace"):
        import tracemalloc

        tracemalloc.start()
    result: dict[str, Any] = {"stage": stage, "model": args.get("model"), "xla": args["xla"]}
    result.update(import_s=time.perf_counter() - t0, rss_imports_mb=peak_mb())
    if args.get("draws") is not None:
        import gc

        loaded_draws(stage, args["posterior"], args["draws"])
        gc.collect()
        result.update(rss_loaded_peak_mb=peak_mb(), rss_loaded_now_mb=current_mb())
    times = []
    for call in range(int(args.get("calls", 2))):
        out = str(out_dir / f"{stage}-{args.get('model')}-{args['xla']}-{call}.out")
        if stage == "marginal" and call == 0:
            result["output"] = out
        t0 = time.perf_counter()
        stage_call(stage, args, out)
        times.append(time.perf_counter() - t0)
    result.update(times_s=times, peak_rss_mb=peak_mb())
    if args.get("trace"):
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


def child_marginal_parts(args: dict[str, Any]) -> dict[str, Any]:
    """Where the marginal likelihood's time goes, in a fresh process: the proposal from
    the fit's draws (NumPy), then the importance-sampling estimate over the default draws
    and samples, called twice (its compilation: first minus second call)."""
    import logging

    from cogfit import fitted, marginal

    fit = fitted.load_fit(args["posterior"])
    settings = marginal.CompareSettings()
    flat = marginal.flat_draws(fitted.group_draws(fit, settings.draws))
    result: dict[str, Any] = {"model": args["model"]}
    t0 = time.perf_counter()
    proposal = marginal.fit_proposal(fit)
    result["proposal_s"] = time.perf_counter() - t0
    quiet = logging.getLogger("bench.quiet")
    quiet.setLevel(logging.WARNING)
    for name in ("marginal_first_s", "marginal_warm_s"):
        t0 = time.perf_counter()
        marginal.marginal_log_lik(
            fit.model, fit.data, flat, settings.importance_samples, 1, proposal, quiet
        )
        result[name] = time.perf_counter() - t0
    result["estimate_compile_s"] = result["marginal_first_s"] - result["marginal_warm_s"]
    return result


def child_load(args: dict[str, Any]) -> dict[str, Any]:
    """RSS of a stage's process while it reads the draws it uses (no compute): the group
    draws whole for the marginal likelihood; for PPC and regressors every participant draw,
    a read-ahead block at a time as the stage reads them. ``arrays_mb``: the most held at
    once."""
    import numpy as np

    from cogfit import fitted
    from cogfit.chunks import draw_chunks
    from cogfit.trialwise import PosteriorDraws

    stage = args["stage"]
    stage_imports(stage)
    result: dict[str, Any] = {"stage": stage, "draws": args["draws"], "rss_imports_mb": peak_mb()}
    t0 = time.perf_counter()
    fit = fitted.load_fit(args["posterior"])
    if stage == "marginal":
        kept = fitted.group_draws(fit, args["draws"])  # [chain, draw, group]
        n_kept = int(np.prod(next(iter(kept.values())).shape[:2]))
        held = sum(v.nbytes for v in kept.values())
    else:
        source = PosteriorDraws(fit, args["draws"])
        n_kept, held = source.n_draws, 0
        for part in draw_chunks(source.n_draws, 1, source.block):
            held = max(held, sum(v.nbytes for v in source.take(part).values()))
    result.update(
        load_s=time.perf_counter() - t0,
        kept_draws=n_kept,
        arrays_mb=held / 2**20,
        rss_loaded_now_mb=current_mb(),
        rss_loaded_peak_mb=peak_mb(),
    )
    return result


def child_synthetic(args: dict[str, Any]) -> dict[str, Any]:
    """Write a synthetic posterior.nc and its cleaned trials (see :func:`write_synthetic`)."""
    t0 = time.perf_counter()
    sizes = write_synthetic(
        args["posterior"], args["trials"], args["participants"], args["trials_n"], args["draws"]
    )
    return {"build_s": time.perf_counter() - t0, **sizes, "peak_rss_mb": peak_mb()}


# --------------------------------------------------------------------------- synthetic fit


class FakeMCMC:
    """The two methods :func:`cogfit.packaging.to_inference_data` reads from an MCMC."""

    def __init__(self, samples: dict[str, Any], extra: dict[str, Any]) -> None:
        self._samples, self._extra = samples, extra

    def get_samples(self, group_by_chain: bool = True) -> dict[str, Any]:
        return dict(self._samples)

    def get_extra_fields(self, group_by_chain: bool = True) -> dict[str, Any]:
        return dict(self._extra)


def synthetic_trials(n_p: int, n_t: int) -> Any:
    """A cleaned trials table of simdata's two-group rw data (ids sort in data order)."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE))
    from simdata import simulate

    choices, outcomes, valid, groups = simulate(n_p, n_t, groups=2)
    width = len(str(n_p))
    ids = np.array([f"s{i:0{width}d}" for i in range(n_p)])
    return pd.DataFrame(
        {
            "participant": np.repeat(ids, n_t),
            "group": np.repeat(np.array(["a", "b"])[groups], n_t),
            "trial": np.tile(np.arange(1, n_t + 1), n_p),
            "choice": pd.array(np.where(valid, choices, -1).ravel(), dtype="Int64"),
            "outcome": np.where(valid, outcomes, np.nan).ravel(),
            "missed": ~valid.ravel(),
            "block": np.tile(np.arange(n_t) // 60, n_p),
        }
    ).assign(choice=lambda d: d["choice"].mask(d["missed"]))


def synthetic_samples(model: Any, data: Any, n_draws: int, rng: Any) -> dict[str, Any]:
    """Draws of every site [chain, draw, ...] near simdata's known parameters (the values
    are immaterial to time and memory; they are a plausible posterior's)."""
    import numpy as np

    from cogfit.links import get_link
    from cogfit.names import LOG_LIK_SITE, site_name

    truth = {"alpha": ([-0.5, -1.0], 0.3), "beta": ([-0.9, -0.9], 0.25)}
    shape_g = (MEMORY_CHAINS, n_draws, data.n_groups)
    shape_p = (MEMORY_CHAINS, n_draws, data.n_participants)
    samples: dict[str, Any] = {}
    for spec in model.params:
        means, sd = truth[spec.name]
        link = get_link(spec.link, spec.upper)
        mu = np.asarray(means)[: data.n_groups] + 0.03 * rng.normal(size=shape_g)
        sigma = sd * np.exp(0.1 * rng.normal(size=shape_g))
        true_offset = rng.standard_normal(data.n_participants, dtype=np.float32)
        offset = true_offset + np.float32(0.6) * rng.standard_normal(shape_p, dtype=np.float32)
        index = data.group_index
        x = mu[..., index].astype(np.float32) + offset * sigma[..., index].astype(np.float32)
        samples[site_name(spec.name, "mu")] = mu.astype(np.float32)
        samples[site_name(spec.name, "sigma")] = sigma.astype(np.float32)
        samples[site_name(spec.name, "offset")] = offset.astype(np.float32)
        samples[site_name(spec.name, "theta")] = np.asarray(link(x), dtype=np.float32)
        samples[site_name(spec.name, "mu_natural")] = np.asarray(link(mu), dtype=np.float32)
    samples[LOG_LIK_SITE] = np.full(shape_p, -100.0, dtype=np.float32)
    return samples


def write_synthetic(posterior: str, trials_path: str, n_p: int, n_t: int, n_draws: int) -> dict:
    """A posterior.nc of ``MEMORY_CHAINS`` x ``n_draws`` draws of the rw model on simdata's
    ``n_p`` x ``n_t`` two-group data, packaged by cogfit itself, and its trials table."""
    import numpy as np

    from cogfit.data import task_data_from_trials
    from cogfit.fit import SamplerSettings
    from cogfit.io import write_netcdf, write_parquet
    from cogfit.models import get_model
    from cogfit.packaging import to_inference_data

    trials = synthetic_trials(n_p, n_t)
    write_parquet(trials, trials_path)
    data = task_data_from_trials(trials, 2)
    model = get_model(MEMORY_MODEL)
    rng = np.random.default_rng(7)
    shape = (MEMORY_CHAINS, n_draws)
    extra = {
        "num_steps": np.full(shape, 15),
        "diverging": np.zeros(shape, bool),
        "energy": rng.normal(size=shape).astype(np.float32),
        "potential_energy": rng.normal(size=shape).astype(np.float32),
        "accept_prob": np.full(shape, 0.9, np.float32),
        "adapt_state.step_size": np.full(shape, 0.3, np.float32),
    }
    mcmc = FakeMCMC(synthetic_samples(model, data, n_draws, rng), extra)
    settings = SamplerSettings(chains=MEMORY_CHAINS, warmup=0, samples=n_draws, device="cpu")
    timings = {
        "device": "cpu:0",
        "platform": "cpu",
        "chain_method": "parallel",
        "scan": "sequential",
        "warmup_s": 0.0,
        "sampling_s": 0.0,
        "wall_time_s": 0.0,
    }
    idata = to_inference_data(model, mcmc, data, settings, timings, "synthetic")
    write_netcdf(idata, posterior)
    return {"posterior_mb": os.path.getsize(posterior) / 2**20}


# --------------------------------------------------------------------------- part: example


def startup_s(repeats: int = 3) -> dict[str, float]:
    """Wall time of a stage job's imports in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", STARTUP_CMD], check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "all_s": times}


def clean_example(tmp: Path) -> str:
    """The example's cleaned trials, cleaned afresh (cheap) so no other run's file is read."""
    from cogfit.clean import CleaningSpec, run_clean

    cfg = load_config()
    spec = CleaningSpec.from_config(
        DATASET, cfg["datasets"][DATASET], precision=cfg["sampler"]["precision"]
    )
    trials = tmp / "trials.parquet"
    run_clean(spec, trials, tmp / "participants.parquet")
    return str(trials)


def cached_marginal(model: str, posterior: str, trials: str, tmp: Path) -> dict[str, Any]:
    """The marginal likelihood's first call in a process that finds its programs in a
    persistent compilation cache (filled by one process before it): a rerun's cost."""
    args = {"stage": "marginal", "model": model, "xla": "default", "example": True, "calls": 1}
    args.update(posterior=posterior, trials=trials, out_dir=str(tmp))
    args["cache_dir"] = str(tmp / f"jax-cache-{model}")
    filled = child("stage", args)
    row = child("stage", args)
    row.update(xla="cache", fill_s=filled["times_s"][0])
    print(
        f"{model} marginal (cache): {filled['times_s'][0]:.2f} s filling, "
        f"{row['times_s'][0]:.2f} s from the cache",
        flush=True,
    )
    return row


def run_example(
    models: list[str], xla_variant: bool, iterations: dict[str, Any], tmp: Path, cache: bool
) -> dict[str, Any]:
    """Fits and stages of the example (see the module docstring)."""
    load = {"start": loadavg()}
    trials = clean_example(tmp)
    startup = startup_s()
    print(f"stage job start-up: {startup['median_s']:.2f} s (median of 3)", flush=True)
    fits, stages, marginals = {}, [], {}
    variants = ["default", "cogfit"] if xla_variant else ["default"]
    for model in models:
        posterior = str(tmp / f"{model}.nc")
        args = {"model": model, "trials": trials, "out": posterior, **iterations}
        fits[model] = child("fit", args)
        print(f"{model}: fit {fits[model]['fit_s']:.1f} s", flush=True)
        for xla in variants:
            for stage in STAGES if xla == "default" else JAX_STAGES:
                args = {"stage": stage, "model": model, "xla": xla, "example": True}
                args.update(posterior=posterior, trials=trials, out_dir=str(tmp))
                row = child("stage", args)
                stages.append(row)
                if stage == "marginal" and xla == "default":
                    marginals[model] = [row["output"]]
                first, second = row["times_s"]
                print(f"{model} {stage} ({xla}): {first:.2f} s, warm {second:.2f} s", flush=True)
        if cache:
            stages.append(cached_marginal(model, posterior, trials, tmp))
    args = {"stage": "compare", "model": "all", "xla": "default", "example": True}
    stages.append(child("stage", {**args, "marginals": marginals, "out_dir": str(tmp)}))
    parts = [
        child("marginal_parts", {"model": m, "posterior": str(tmp / f"{m}.nc")}) for m in models
    ]
    load["end"] = loadavg()
    return {
        "fits": fits,
        "stages": stages,
        "marginal_parts": parts,
        "startup": startup,
        "load": load,
    }


def example_summary(part: dict[str, Any]) -> dict[str, Any]:
    """Per model and in total: stage times against the fit's, and the target's verdict."""
    start = part["startup"]["median_s"]
    rows, totals = [], {"fit": 0.0, "first": 0.0, "warm": 0.0, "jobs": 0}
    default = [s for s in part["stages"] if s["xla"] == "default"]
    for model, fit in part["fits"].items():
        mine = [s for s in default if s["model"] == model]
        first = sum(s["times_s"][0] for s in mine)
        warm = sum(s["times_s"][1] for s in mine)
        rows.append(_ratio_row(model, fit["fit_s"], first, warm, len(mine), start))
        totals["fit"] += fit["fit_s"]
        totals["first"] += first
        totals["warm"] += warm
        totals["jobs"] += len(mine)
    compare = [s for s in default if s["stage"] == "compare"]
    for s in compare:
        totals["first"] += s["times_s"][0]
        totals["warm"] += s["times_s"][1]
        totals["jobs"] += 1
    total = _ratio_row("all", totals["fit"], totals["first"], totals["warm"], totals["jobs"], start)
    total["met"] = total["ratio_with_startup"] < TARGET_RATIO
    return {"rows": [*rows, total], "target": TARGET_RATIO}


def _ratio_row(name: str, fit: float, first: float, warm: float, jobs: int, start: float) -> dict:
    with_start = first + jobs * start
    return {
        "model": name,
        "fit_s": fit,
        "stages_first_s": first,
        "stages_warm_s": warm,
        "jobs": jobs,
        "startup_s": jobs * start,
        "stages_with_startup_s": with_start,
        "ratio_first": first / fit,
        "ratio_warm": warm / fit,
        "ratio_with_startup": with_start / fit,
        "budget_s": TARGET_RATIO * fit,
    }


# --------------------------------------------------------------------------- part: memory


def run_growth(n_p: int, n_t: int, n_draws: int, small: int, tmp: Path) -> dict[str, Any]:
    """PPC and regressors (cheap per draw) at many draws: how much their peak grows with
    the number of draws. Then the allocator variant at ``small`` and ``n_draws`` draws:
    glibc mmaps allocations of :data:`MMAP_THRESHOLD` bytes or more, and tracemalloc
    records the peak of what Python and NumPy hold (the live memory, not the heap)."""
    posterior, trials = str(tmp / "synthetic_growth.nc"), str(tmp / "synthetic_trials.parquet")
    args = {"posterior": posterior, "trials": trials, "participants": n_p, "trials_n": n_t}
    built = child("synthetic", {**args, "draws": -(-n_draws // MEMORY_CHAINS)})
    runs = []
    variants = [("default", n_draws), ("mmap", small), ("mmap", n_draws)]
    for stage in JAX_STAGES[1:]:
        for allocator, draws in variants:
            mmap = allocator == "mmap"
            env = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)} if mmap else None
            row = synthetic_stage(stage, draws, posterior, trials, tmp, trace=mmap, env=env)
            row["allocator"] = allocator
            runs.append(row)
            print(
                f"{stage} {draws} draws ({allocator}): {row['times_s'][0]:.1f} s, "
                f"peak {row['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    return {
        "participants": n_p,
        "trials": n_t,
        "draws": n_draws,
        "small_draws": small,
        "synthetic": built,
        "runs": runs,
        "load": loadavg(),
    }


def synthetic_stage(
    stage: str,
    draws: int,
    posterior: str,
    trials: str,
    tmp: Path,
    trace: bool = False,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One call of ``stage`` at ``draws`` draws of the synthetic fit, in its own process
    (XLA's defaults, as the job scripts run); ``trace``: also tracemalloc's peak."""
    args = {"stage": stage, "model": MEMORY_MODEL, "xla": "default", "calls": 1}
    args.update(draws=draws, posterior=posterior, trials=trials, out_dir=str(tmp))
    if trace:
        args["trace"] = True
    row = child("stage", args, env=env)
    row["draws"] = draws
    return row


def run_load(n_p: int, n_t: int, n_draws: int, tmp: Path) -> dict[str, Any]:
    """A synthetic posterior.nc of ``n_draws`` draws (the fit's artifact at that size) and
    what each stage's process holds after loading the draws it reads at ``n_draws``."""
    posterior = str(tmp / "synthetic_full.nc")
    args = {"posterior": posterior, "trials": str(tmp / "synthetic_full_trials.parquet")}
    args.update(participants=n_p, trials_n=n_t, draws=-(-n_draws // MEMORY_CHAINS))
    built = child("synthetic", args)
    print(f"synthetic posterior of {n_draws} draws: {built['posterior_mb']:.0f} MB", flush=True)
    rows = []
    for stage in JAX_STAGES:
        rows.append(child("load", {"stage": stage, "posterior": posterior, "draws": n_draws}))
        print(
            f"{stage}: at most {rows[-1]['arrays_mb']:.0f} MB of draws held, RSS "
            f"{rows[-1]['rss_loaded_now_mb']:.0f} MB (peak {rows[-1]['rss_loaded_peak_mb']:.0f})",
            flush=True,
        )
    os.remove(posterior)
    return {"draws": n_draws, "synthetic": built, "stages": rows}


def run_memory(n_p: int, n_t: int, draws: list[int], tmp: Path) -> dict[str, Any]:
    """Each JAX stage at two numbers of draws on a synthetic fit (see the module docstring)."""
    load = {"start": loadavg()}
    posterior, trials = str(tmp / "synthetic.nc"), str(tmp / "synthetic_trials.parquet")
    per_chain = -(-max(draws) // MEMORY_CHAINS)
    args = {"posterior": posterior, "trials": trials, "participants": n_p, "trials_n": n_t}
    built = child("synthetic", {**args, "draws": per_chain})
    print(f"synthetic posterior: {built['posterior_mb']:.0f} MB", flush=True)
    runs = []
    for stage in JAX_STAGES:
        for d in draws:
            row = synthetic_stage(stage, d, posterior, trials, tmp)
            runs.append(row)
            print(
                f"{stage} {d} draws: {row['times_s'][0]:.1f} s, peak {row['peak_rss_mb']:.0f} MB "
                f"(after load {row['rss_loaded_peak_mb']:.0f} MB)",
                flush=True,
            )
    load["end"] = loadavg()
    return {
        "participants": n_p,
        "trials": n_t,
        "draws": draws,
        "synthetic": built,
        "runs": runs,
        "load": load,
    }


def ppc_cells(n_t: int, bins: int = 10) -> int:
    """PPC's group-level cells on the synthetic data: 2 groups x (its blocks of 60 trials
    and the pooled ``all``) x ``bins`` learning-curve bins, and 2 groups x 2 stay cells."""
    return 2 * (-(-n_t // 60) + 1) * bins + 2 * 2


def draw_arrays_mb(stage: str, n_draws: int, n_p: int, n_t: int) -> float:
    """MB of the arrays the stage keeps with one row per draw (read from the code): the
    marginal's output log-likelihood [S, P] float64 and its smallest ESS values
    [0.05 S + 2, P] float64; PPC's group-level counts [S, cells] float64 (its
    per-participant tallies are fixed-size); the regressors: none."""
    per_draw = {
        "marginal": 8 * n_p * 1.05,
        "ppc": 8 * ppc_cells(n_t),
        "regressors": 0,
    }[stage]
    return n_draws * per_draw / 2**20


def memory_summary(part: dict[str, Any]) -> list[dict[str, Any]]:
    """Per stage: peaks at both draw counts, their ratio, time per draw, extrapolations."""
    rows = []
    n_p, n_t = part["participants"], part["trials"]
    for stage in JAX_STAGES:
        runs = sorted((r for r in part["runs"] if r["stage"] == stage), key=lambda r: r["draws"])
        lo, hi = runs[0], runs[-1]
        per_draw = (hi["times_s"][0] - lo["times_s"][0]) / (hi["draws"] - lo["draws"])
        fixed = lo["times_s"][0] - lo["draws"] * per_draw
        added = [r["peak_rss_mb"] - r["rss_loaded_peak_mb"] for r in (lo, hi)]
        rows.append(
            {
                "stage": stage,
                "d1": lo["draws"],
                "d2": hi["draws"],
                "peak_d1_mb": lo["peak_rss_mb"],
                "peak_d2_mb": hi["peak_rss_mb"],
                "peak_ratio": hi["peak_rss_mb"] / lo["peak_rss_mb"],
                "loaded_d1_mb": lo["rss_loaded_peak_mb"],
                "added_d1_mb": added[0],
                "added_d2_mb": added[1],
                "time_d1_s": lo["times_s"][0],
                "time_d2_s": hi["times_s"][0],
                "s_per_draw": per_draw,
                "fixed_s": fixed,
                "time_8000_h": (fixed + TARGET_DRAWS * per_draw) / 3600,
                "draw_arrays_8000_mb": draw_arrays_mb(stage, TARGET_DRAWS, n_p, n_t),
            }
        )
    return rows


# --------------------------------------------------------------------------- report


def markdown(results: dict[str, Any]) -> str:
    """analysis.md from the results of both parts."""
    lines = ["# Analysis stages: time and memory", ""]
    lines += [f"Machine: {results.get('machine', '')}.", ""]
    if "example" in results:
        lines += _example_md(results["example"])
    if "memory" in results:
        lines += _memory_md(results["memory"])
    if "growth" in results and "memory" in results:
        lines += _growth_md(results["growth"], results["memory"])
    return "\n".join(lines) + "\n"


def _example_md(part: dict[str, Any]) -> list[str]:
    fits = part["fits"]
    some = next(iter(fits.values()))
    lines = [
        "## Stages against the fit on the example",
        "",
        f"Run {part.get('date', '')}. "
        f"{some['participants']} participants x {some['trials']} trials, "
        f"{some['chains']} x ({some['warmup']} + {some['samples']}); load average "
        f"{part['load']['start']} at the start, {part['load']['end']} at the end; stage "
        f'job start-up (`python -c "{STARTUP_CMD}"`): {part["startup"]["median_s"]:.2f} s '
        f"(median of {len(part['startup']['all_s'])}).",
        "",
        "Each stage in its own process; first call (compile included) / second call (warm), s. "
        "xla: default, as the job scripts run; cogfit, with `configure_xla(1)`; cache, the "
        "first call with a persistent compilation cache that a process before filled:",
        "",
        "| model | fit s | xla | " + " | ".join(STAGES) + " |",
        "|---|---|---|" + "---|" * len(STAGES),
    ]
    for model, fit in fits.items():
        for xla in ("default", "cogfit", "cache"):
            mine = {
                s["stage"]: s for s in part["stages"] if s["model"] == model and s["xla"] == xla
            }
            if not mine:
                continue
            cells = [_stage_cell(mine[s]) if s in mine else "" for s in STAGES]
            lines.append(f"| {model} | {fit['fit_s']:.1f} | {xla} | " + " | ".join(cells) + " |")
    compare = [s for s in part["stages"] if s["stage"] == "compare"]
    if compare:
        c = compare[0]["times_s"]
        lines += ["", f"compare (one job for the three models): {c[0]:.2f} / {c[1]:.2f} s."]
    lines += _parts_md(part.get("marginal_parts", []))
    summary = example_summary(part)
    lines += [
        "",
        "Sums of the stages (XLA as the job scripts run them) against the fit, same run:",
        "",
        "| model | fit s | stages, first call s | warm s | jobs | + start-up s | "
        "first / fit | warm / fit | with start-up / fit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["rows"]:
        lines.append(
            f"| {r['model']} | {r['fit_s']:.1f} | {r['stages_first_s']:.1f} | "
            f"{r['stages_warm_s']:.1f} | {r['jobs']} | {r['stages_with_startup_s']:.1f} | "
            f"{r['ratio_first']:.2f} | {r['ratio_warm']:.2f} | {r['ratio_with_startup']:.2f} |"
        )
    total = summary["rows"][-1]
    verdict = "met" if total["met"] else "not met"
    lines += [
        "",
        f"Target: stages < {TARGET_RATIO} x fit: {verdict} (with start-up "
        f"{total['ratio_with_startup']:.2f}; budget {total['budget_s']:.1f} s for all models).",
        "",
    ]
    return lines


def _growth_md(growth: dict[str, Any], memory: dict[str, Any]) -> list[str]:
    """Peak growth from the memory part's larger draw count to the growth part's, and the
    allocator variant's."""
    d = growth["draws"]
    lines = [
        f"## Peak memory at {d} draws (part growth)",
        "",
        f"Run {growth.get('date', '')}. Same data; peak RSS at {d} draws against the memory "
        "part's largest draw count, the growth the per-draw arrays predict (from shapes and "
        "dtypes), time per draw from the memory part's smallest draw count to "
        f"{d} and the time it gives for {TARGET_DRAWS} draws:",
        "",
        "| stage | draws | peak RSS MB | measured growth MB | predicted growth MB | s "
        f"| s per draw | {TARGET_DRAWS} draws h |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in growth["runs"]:
        if run.get("allocator", "default") != "default":
            continue
        mine = [r for r in memory["runs"] if r["stage"] == run["stage"]]
        before = max(mine, key=lambda r: r["draws"])
        first = min(mine, key=lambda r: r["draws"])
        per_draw = (run["times_s"][0] - first["times_s"][0]) / (d - first["draws"])
        hours = (first["times_s"][0] + (TARGET_DRAWS - first["draws"]) * per_draw) / 3600
        grown = run["peak_rss_mb"] - before["peak_rss_mb"]
        predicted = draw_arrays_mb(
            run["stage"], d - before["draws"], growth["participants"], growth["trials"]
        )
        lines.append(
            f"| {run['stage']} | {before['draws']} -> {d} | {before['peak_rss_mb']:.0f} -> "
            f"{run['peak_rss_mb']:.0f} | {grown:.0f} | {predicted:.0f} | "
            f"{run['times_s'][0]:.1f} | {per_draw:.3f} | {hours:.2f} |"
        )
    return [*lines, "", *_allocator_md(growth)]


def _allocator_md(growth: dict[str, Any]) -> list[str]:
    """The allocator variant of part growth: RSS and traced peaks at both draw counts."""
    runs = [r for r in growth["runs"] if r.get("allocator") == "mmap"]
    if not runs:
        return []
    lines = [
        f"The same with `MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}` (glibc mmaps every "
        "allocation of 1 MiB or more and returns it when freed) and tracemalloc's peak (what "
        "Python and NumPy hold, not the heap), in processes of their own; load average "
        f"{growth.get('load')} at the end:",
        "",
        "| stage | draws | peak RSS MB | RSS growth MB | traced peak MB | traced growth MB | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for stage in JAX_STAGES[1:]:
        mine = sorted((r for r in runs if r["stage"] == stage), key=lambda r: r["draws"])
        if len(mine) < 2:
            continue
        lo, hi = mine[0], mine[-1]
        lines.append(
            f"| {stage} | {lo['draws']} -> {hi['draws']} | {lo['peak_rss_mb']:.0f} -> "
            f"{hi['peak_rss_mb']:.0f} | {hi['peak_rss_mb'] - lo['peak_rss_mb']:.0f} | "
            f"{lo['traced_peak_mb']:.0f} -> {hi['traced_peak_mb']:.0f} | "
            f"{hi['traced_peak_mb'] - lo['traced_peak_mb']:.1f} | "
            f"{lo['times_s'][0]:.1f} / {hi['times_s'][0]:.1f} |"
        )
    return [*lines, ""]


def _stage_cell(row: dict[str, Any]) -> str:
    """A stage's calls, s; for the cache variant also the call that filled the cache."""
    text = " / ".join(f"{t:.2f}" for t in row["times_s"])
    return f"{text} (filling run {row['fill_s']:.2f})" if "fill_s" in row else text


def _parts_md(parts: list[dict[str, Any]]) -> list[str]:
    """The marginal likelihood's time split into compilation and computation."""
    if not parts:
        return []
    lines = [
        "",
        "The marginal likelihood's parts (fresh process, default draws and samples), s:",
        "",
        "| model | proposal | estimate: compile | estimate: run |",
        "|---|---|---|---|",
    ]
    for p in parts:
        lines.append(
            f"| {p['model']} | {p['proposal_s']:.2f} | {p['estimate_compile_s']:.2f} | "
            f"{p['marginal_warm_s']:.2f} |"
        )
    return lines


def _memory_md(part: dict[str, Any]) -> list[str]:
    syn = part["synthetic"]
    lines = [
        "## Memory by number of draws",
        "",
        f"Run {part.get('date', '')}. "
        f"Synthetic rw fit, {part['participants']} participants x {part['trials']} trials, "
        f"two groups; posterior.nc of {MEMORY_CHAINS} chains ({syn['posterior_mb']:.0f} MB); "
        f"load average {part['load']['start']} at the start, {part['load']['end']} at the end.",
        "",
        "| stage | draws D1 / D2 | peak RSS D1 / D2 MB | D2 / D1 | after load MB | "
        "added D1 / D2 MB | s D1 / D2 | s per draw | fixed s | 8000 draws h | "
        "per-draw arrays at 8000 MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in memory_summary(part):
        lines.append(
            f"| {r['stage']} | {r['d1']} / {r['d2']} | {r['peak_d1_mb']:.0f} / "
            f"{r['peak_d2_mb']:.0f} | {r['peak_ratio']:.2f} | {r['loaded_d1_mb']:.0f} | "
            f"{r['added_d1_mb']:.0f} / {r['added_d2_mb']:.0f} | {r['time_d1_s']:.1f} / "
            f"{r['time_d2_s']:.1f} | {r['s_per_draw']:.2f} | {r['fixed_s']:.1f} | "
            f"{r['time_8000_h']:.2f} | {r['draw_arrays_8000_mb']:.0f} |"
        )
    lines += [
        "",
        "after load: peak RSS after the imports and loading what the stage loads whole (the "
        "fit's data; the marginal likelihood also its group draws; PPC and regressors read "
        "their participant draws a block at a time during the call); added: peak minus that. "
        "per-draw arrays: what the stage keeps with one row per draw (the marginal "
        "likelihood's is mostly its output), from shapes and dtypes at 8000 draws.",
        "",
    ]
    full = part.get("load_full")
    if full:
        lines += [
            f"A posterior.nc of {full['draws']} draws of this size: "
            f"{full['synthetic']['posterior_mb']:.0f} MB on disk. Reading it as each stage "
            "does (lazily: the marginal likelihood its group draws whole, PPC and regressors "
            f"every participant draw a read-ahead block at a time), at {full['draws']} draws:",
            "",
            "| stage | draws read | most held at once MB | RSS after MB | peak MB | read s |",
            "|---|---|---|---|---|---|",
        ]
        for r in full["stages"]:
            lines.append(
                f"| {r['stage']} | {r['kept_draws']} | {r['arrays_mb']:.0f} | "
                f"{r['rss_loaded_now_mb']:.0f} | {r['rss_loaded_peak_mb']:.0f} | "
                f"{r['load_s']:.1f} |"
            )
        lines.append("")
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--parts", nargs="+", default=["example", "memory"], choices=["example", "memory", "growth"]
    )
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--memory-draws", nargs=2, type=int, default=[4, 16])
    p.add_argument("--participants", type=int, default=10_000)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--no-xla-variant", action="store_true")
    p.add_argument("--no-cache-variant", action="store_true")
    p.add_argument("--load-draws", type=int, default=TARGET_DRAWS, help="0: skip")
    p.add_argument("--growth-draws", type=int, default=640, help="draws of part growth")
    p.add_argument("--report", action="store_true", help="rewrite analysis.md from the json")
    p.add_argument("--warmup", type=int, help="replace the config's (smoke tests only)")
    p.add_argument("--samples", type=int, help="replace the config's (smoke tests only)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        kinds = {
            "fit": child_fit,
            "stage": child_stage,
            "synthetic": child_synthetic,
            "marginal_parts": child_marginal_parts,
            "load": child_load,
        }
        emit(kinds[argv[1]](json.loads(argv[2])))
        return 0
    args = parse_args(argv)
    out = RESULTS / "analysis.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results.update(
        machine=f"{os.cpu_count()} CPU cores, {sys.platform}",
        xla_flags_env=os.environ.get("XLA_FLAGS", ""),
    )
    if args.report:
        args.parts = []
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="cogfit-bench-analysis-") as tmp:
        if "example" in args.parts:
            iterations = {"warmup": args.warmup, "samples": args.samples}
            xla_variant = not args.no_xla_variant
            results["example"] = run_example(
                args.models, xla_variant, iterations, Path(tmp), not args.no_cache_variant
            )
        if "memory" in args.parts:
            n_p, n_t, draws = args.participants, args.trials, args.memory_draws
            results["memory"] = run_memory(n_p, n_t, draws, Path(tmp))
            if args.load_draws:
                load = run_load(n_p, n_t, args.load_draws, Path(tmp))
                results["memory"]["load_full"] = load
    if "growth" in args.parts:
        with tempfile.TemporaryDirectory(prefix="cogfit-bench-analysis-") as tmp:
            n_p, n_t = args.participants, args.trials
            small = max(args.memory_draws)
            results["growth"] = run_growth(n_p, n_t, args.growth_draws, small, Path(tmp))
    for part in args.parts:
        results[part]["date"] = started
    if "example" in results:
        results["example"]["summary"] = example_summary(results["example"])
    if "memory" in results:
        results["memory"]["summary"] = memory_summary(results["memory"])
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (RESULTS / "analysis.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
