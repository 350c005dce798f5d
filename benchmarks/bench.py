"""cogfit vs the tutorial NumPyro baseline vs Stan, side by side in one run.

    python benchmarks/bench.py [--sizes 20x100 200x200 1000x200 10000x200]
                               [--methods cogfit baseline stan] [--max-stan-seconds 1800]
                               [--repeats 3] [--repeat-max-trials 2000]

Every method fits the same hierarchical Rescorla-Wagner model (non-centred, one group,
same priors and links) to the same simulated data with 4 chains x (1000 warm-up + 1000
draws) and the same NUTS target acceptance (0.8, Stan's and NumPyro's default). Each
(method, size) runs in its own process so peak memory is its own. Stan's program gets a
fresh comment line each run, so httpstan compiles it afresh as cogfit's JAX programs are
(neither uses a compilation cache here). The baseline warms up and samples in one
``mcmc.run`` (as tutorials do), cogfit as its fits do (one compiled program executed per
phase, ``cogfit.segments``); in both a host callback at the end of warm-up
(cogfit.progress) splits the wall time. Imports (ArviZ included) happen before any clock
starts. Recorded: build/compile time (everything but sampling), sampling time, minimum
bulk ESS over the group-level parameters, ESS/s with and without compile time, gradient
time per trial
(measured directly for the JAX methods; for Stan derived from sampling time / leapfrog
steps), peak RSS and the group-level posterior means; ratios are against cogfit of the
same size. Stan is skipped with a message where PyStan is missing or where its estimated
time exceeds the limit; 10000x200 is skipped without a GPU. Writes
benchmarks/results/bench.{parquet,md,png}, replacing the rows of the sizes it ran and
keeping the others (each size's rows come from one run, named in the ``run`` column).
Sizes of at most ``--repeat-max-trials`` trials (20 x 100) run every method
``--repeats`` times with the same seeds (``--seed`` on) and keep each method's run with
the median ESS/s, compile included (:func:`median_run`); larger sizes run once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GROUP_PARAMS = ("alpha_mu", "alpha_sigma", "beta_mu", "beta_sigma")
STAN_S_PER_TRIAL = 0.04  # ~1600 s for 200x200 on a 2-core VM: for the skip estimate only


def summarise(idata, names: dict[str, str]) -> dict:  # noqa: ANN001
    """Minimum bulk ESS and posterior means and sds of the group-level parameters."""
    import arviz as az

    out, ess = {}, []
    for ours, theirs in names.items():
        draws = idata.posterior[theirs]
        ess.append(float(az.ess(draws.values.reshape(draws.sizes["chain"], -1), method="bulk")))
        out[f"mean_{ours}"] = float(draws.mean())
        out[f"sd_{ours}"] = float(draws.std())
    out["min_bulk_ess"] = min(ess)
    return out


def run_jax(method: str, n_p: int, n_t: int, args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(HERE))
    from gradient import baseline_xla, time_gradient
    from simdata import simulate

    from cogfit.runtime import configure_xla

    # each method with its faster XLA options (see gradient.baseline_xla)
    (configure_xla if method == "cogfit" else baseline_xla)(args.chains)
    import arviz as az  # imported before any clock starts, as for the other methods
    import jax
    import numpy as np

    choices, outcomes, valid, _ = simulate(n_p, n_t)
    if method == "cogfit":
        from cogfit.simulate import as_task_data

        return run_cogfit("rw", as_task_data(choices, outcomes, valid), args, GROUP_PARAMS)

    from baseline_numpyro import model
    from numpyro.infer import MCMC

    from cogfit.progress import Progress, ReportingNUTS
    from cogfit.runtime import chain_method

    c = np.where(valid, choices, 0).astype(np.int32)
    o = np.where(valid, outcomes, 0.0).astype(np.float32)
    row: dict = {"device": str(jax.devices()[0])}
    # one mcmc.run as tutorials do; the progress callback only times the phases
    method_name = chain_method("cpu", args.chains)
    progress = Progress(args.warmup, args.samples, args.chains, method_name)
    t0 = progress.start
    mcmc = MCMC(
        ReportingNUTS(model, progress, target_accept_prob=args.target_accept),
        num_warmup=args.warmup,
        num_samples=args.samples,
        num_chains=args.chains,
        chain_method=method_name,
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(args.seed), c, o, valid)
    jax.block_until_ready(mcmc.get_samples())
    t2 = time.perf_counter()
    _, sampling_s = progress.split(t2)
    idata = az.from_numpyro(mcmc, log_likelihood=False)
    row.update(build_s=t2 - t0 - sampling_s, sampling_s=sampling_s)
    row["grad_ns_per_trial"] = 1e9 * time_gradient(model, (c, o, valid), 50) / (n_p * n_t)
    row.update(summarise(idata, {p: p for p in GROUP_PARAMS}))
    return row


def run_cogfit(
    model_name: str,
    data,  # noqa: ANN001
    args: argparse.Namespace,
    group_params: tuple[str, ...],
    priors: dict | None = None,
) -> dict:
    """Fit ``data`` (a TaskData of one group) with ``cogfit.fit.fit`` as its fits run
    (the caller has set cogfit's XLA options; ``priors``: a dataset's overrides); the
    row: times, the gradient per trial and the summary of ``group_params``."""
    sys.path.insert(0, str(HERE))
    import arviz  # noqa: F401  (imported before any clock starts, as for the other methods)
    import jax
    import numpy as np
    from gradient import time_gradient

    from cogfit.fit import SamplerSettings, fit
    from cogfit.hierarchical import hierarchical_model
    from cogfit.models import get_model
    from cogfit.runtime import participant_chunk
    from cogfit.sampling import in_precision

    settings = SamplerSettings(
        chains=args.chains,
        warmup=args.warmup,
        samples=args.samples,
        seed=args.seed,
        target_accept=args.target_accept,
    )
    row: dict = {"device": str(jax.devices()[0])}  # JAX's backend starts before the clock
    t0 = time.perf_counter()
    idata = fit(model_name, data, settings, priors=priors, dataset="bench")
    total = time.perf_counter() - t0
    row["sampling_s"] = float(idata.posterior.attrs["sampling_s"])
    row["build_s"] = total - row["sampling_s"]  # start + compile + warm-up + packaging
    idata = idata.sel(group="all")
    n_p, n_t = data.n_participants, data.n_trials
    chunk = participant_chunk(settings, jax.devices()[0].platform, n_p, n_t)
    model = get_model(model_name).with_priors(priors)
    trials = in_precision(data.scan_inputs(model), "float32")  # as a default fit has them
    grad_args = (model, trials, np.zeros(n_p, np.int32), 1, data.n_options, "sequential", chunk)
    row["grad_ns_per_trial"] = 1e9 * time_gradient(hierarchical_model, grad_args, 50) / (n_p * n_t)
    row.update(summarise(idata, {p: p for p in group_params}))
    return row


def run_stan(n_p: int, n_t: int, args: argparse.Namespace) -> dict:
    import numpy as np

    sys.path.insert(0, str(HERE))
    from simdata import simulate

    choices, outcomes, valid, _ = simulate(n_p, n_t)
    data = {
        "P": n_p,
        "T": n_t,
        "K": 2,
        "choice": (np.where(valid, choices, 0) + 1).tolist(),
        "outcome": np.where(valid, outcomes, 0.0).tolist(),
        "valid": valid.astype(int).tolist(),
    }
    return stan_row(HERE / "rw_hierarchical.stan", data, n_p * n_t, args, GROUP_PARAMS)


def stan_row(
    program: Path,
    data: dict,
    n_trials: int,
    args: argparse.Namespace,
    group_params: tuple[str, ...],
) -> dict:
    """Build the Stan ``program`` afresh, sample it on ``data`` (``n_trials`` trials)
    with PyStan; the row: times, the gradient per trial and the summary of
    ``group_params``."""
    import arviz as az
    import stan

    # a new comment line each run: httpstan caches models by program text, and a cached
    # build would hide the compile time this table is meant to include
    code = program.read_text() + f"\n// run {time.time_ns()}\n"
    t0 = time.perf_counter()
    posterior = stan.build(code, data=data, random_seed=args.seed)
    t1 = time.perf_counter()
    fit = posterior.sample(
        num_chains=args.chains,
        num_warmup=args.warmup,
        num_samples=args.samples,
        delta=args.target_accept,
    )
    t2 = time.perf_counter()
    idata = az.from_pystan(posterior=fit)
    steps = float(idata.sample_stats["n_steps"].sum())
    # warm-up steps are not reported: scale sampling time by the kept draws' steps
    cores = min(args.chains, os.cpu_count() or 1)
    row = {"device": "cpu (Stan)", "build_s": t1 - t0, "sampling_s": t2 - t1}
    row["grad_ns_per_trial"] = 1e9 * (t2 - t1) * cores / (2 * steps) / n_trials
    row.update(summarise(idata, {p: p for p in group_params}))
    return row


def worker(method: str, size: str, args: argparse.Namespace) -> None:
    n_p, n_t = (int(x) for x in size.split("x"))
    emit_row(run_stan(n_p, n_t, args) if method == "stan" else run_jax(method, n_p, n_t, args))


def emit_row(row: dict) -> None:
    """A worker's row, with its process's peak memory, as the line :func:`run_worker`
    reads."""
    row["peak_rss_mb"] = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    print("RESULT " + json.dumps(row), flush=True)


def skip_reason(
    method: str,
    n_p: int,
    n_t: int,
    args: argparse.Namespace,
    stan_s_per_trial: float = STAN_S_PER_TRIAL,
) -> str | None:
    """Why ``method`` cannot run at P x T here (None: it can); Stan's time is estimated
    as ``stan_s_per_trial`` per trial of data."""
    if method == "stan":
        try:
            import stan  # noqa: F401
        except ImportError:
            return "PyStan is not installed (pip install -e '.[bench]')"
        estimate = stan_s_per_trial * n_p * n_t
        if estimate > args.max_stan_seconds:
            return f"Stan would take about {estimate / 60:.0f} min (> --max-stan-seconds)"
    if n_p * n_t >= 1_000_000:
        import jax

        try:
            jax.devices("gpu")
        except RuntimeError:
            return "sizes of a million trials and more run on a GPU only"
    return None


def add_run_arguments(p: argparse.ArgumentParser, repeat_max_trials: int) -> None:
    """The sampler and repetition options every benchmark of cogfit against Stan takes."""
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--target-accept", type=float, default=0.8)
    p.add_argument("--max-stan-seconds", type=float, default=1800)
    p.add_argument("--repeats", type=int, default=3, help="runs per method at small sizes")
    p.add_argument(
        "--repeat-max-trials",
        type=int,
        default=repeat_max_trials,
        help="sizes of at most this many trials run --repeats times (seeds from --seed on)",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["20x100", "200x200", "1000x200", "10000x200"])
    p.add_argument("--methods", nargs="+", default=["cogfit", "baseline", "stan"])
    add_run_arguments(p, repeat_max_trials=2000)
    p.add_argument("--worker", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(*args.worker, args)
        return 0

    import pandas as pd

    rows = []
    keys = ("chains", "warmup", "samples", "target_accept")
    passthrough = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in keys]
    for size in args.sizes:
        n_p, n_t = (int(x) for x in size.split("x"))
        seeds = [args.seed]
        if n_p * n_t <= args.repeat_max_trials:
            seeds = list(range(args.seed, args.seed + args.repeats))
        for method in args.methods:
            reason = skip_reason(method, n_p, n_t, args)
            if reason:
                print(f"{size} {method}: skipped: {reason}", flush=True)
                continue
            runs = [run_worker(method, size, n_p, n_t, seed, passthrough) for seed in seeds]
            runs = [r for r in runs if r is not None]
            if runs:
                rows.append(median_run(runs))
    if not rows:
        return 1
    table = pd.DataFrame(rows)
    ref = table[table["method"] == "cogfit"].set_index(["participants", "trials"])
    for col in ("ess_per_s", "ess_per_s_total", "grad_ns_per_trial"):
        base = table.set_index(["participants", "trials"]).index.map(ref[col].get)
        ratio = base.to_numpy(dtype=float) / table[col].to_numpy(dtype=float)
        table[f"cogfit_x_{col}"] = 1 / ratio if col == "grad_ns_per_trial" else ratio
    table["date"] = time.strftime("%Y-%m-%d")
    table["run"] = time.strftime("%Y-%m-%dT%H:%M")
    RESULTS.mkdir(exist_ok=True)
    table = merge_previous(table, RESULTS / "bench.parquet")
    table.to_parquet(RESULTS / "bench.parquet", index=False)
    cols = [
        "participants",
        "trials",
        "method",
        "build_s",
        "sampling_s",
        "min_bulk_ess",
        "ess_per_s",
        "ess_per_s_total",
        "grad_ns_per_trial",
        "peak_rss_mb",
        "cogfit_x_ess_per_s_total",
        "cogfit_x_grad_ns_per_trial",
        "mean_alpha_mu",
        "mean_beta_mu",
        "runs",
        "ess_per_s_total_min",
        "ess_per_s_total_max",
        "seed",
        "run",
    ]
    md = table.reindex(columns=cols).round(3).to_markdown(index=False)
    (RESULTS / "bench.md").write_text(
        "cogfit_x_*: how many times cogfit beats the row's method (cogfit rows: 1). Each "
        "size's rows come from one run of the benchmark (`run`); where a method ran more "
        "than once (`runs`, seeds from the first on), its row is the run with the median "
        "ESS/s (compile included, `seed`), with the range over its runs.\n\n" + md + "\n"
    )
    print(md)
    plot(table, RESULTS / "bench.png")
    return 0


def run_worker(
    method: str,
    size: str,
    n_p: int,
    n_t: int,
    seed: int,
    passthrough: list[str],
    script: str = __file__,
) -> dict | None:
    """One fit of ``method`` in its own process (its own peak memory), by ``script``'s
    ``--worker METHOD SIZE``; its row."""
    cmd = [sys.executable, script, "--worker", method, size, f"--seed={seed}", *passthrough]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        print(f"{size} {method} (seed {seed}): FAILED\n{proc.stderr[-2000:]}", flush=True)
        return None
    row = {"participants": n_p, "trials": n_t, "method": method, "seed": seed}
    row.update(json.loads(lines[-1][len("RESULT ") :]))
    row["ess_per_s"] = row["min_bulk_ess"] / row["sampling_s"]
    row["ess_per_s_total"] = row["min_bulk_ess"] / (row["sampling_s"] + row["build_s"])
    print(
        f"{size} {method} (seed {seed}): build {row['build_s']:.1f}s sampling "
        f"{row['sampling_s']:.1f}s min ESS {row['min_bulk_ess']:.0f} -> "
        f"{row['ess_per_s_total']:.2f} ESS/s (compile incl.), gradient "
        f"{row['grad_ns_per_trial']:.1f} ns/trial, peak {row['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    return row


def median_run(runs: list[dict]) -> dict:
    """The run with the median ESS/s (compile included), whole, so its columns belong
    together, with the number of runs and the range of their ESS/s.

    Why repeat: at small sizes a fit takes seconds, and one seed's minimum ESS moves by
    a quarter either way (cogfit at 20 x 100: 807-1317 over 8 seeds), more than the
    ratios the benchmark is read for; each method runs with the same seeds.
    """
    ranked = sorted(runs, key=lambda r: r["ess_per_s_total"])
    row = dict(ranked[(len(ranked) - 1) // 2])
    row["runs"] = len(runs)
    row["ess_per_s_total_min"] = ranked[0]["ess_per_s_total"]
    row["ess_per_s_total_max"] = ranked[-1]["ess_per_s_total"]
    return row


def merge_previous(  # noqa: ANN201
    table,  # noqa: ANN001
    path: Path,
    keys: tuple[str, ...] = ("participants", "trials"),
):
    """The new rows plus the previous table's rows of the sizes (``keys``) not run this
    time, so a run of some sizes does not drop the others; a size's rows (and ratios)
    always come from one run."""
    import pandas as pd

    if not path.exists():
        return table
    old = pd.read_parquet(path)
    sizes = set(table[list(keys)].itertuples(index=False, name=None))
    keep = [k not in sizes for k in old[list(keys)].itertuples(index=False, name=None)]
    merged = pd.concat([old[keep], table], ignore_index=True)
    return merged.sort_values(list(keys), kind="stable", ignore_index=True)


def plot(table, path: Path) -> None:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in table.groupby("method"):
        trials = rows["participants"] * rows["trials"]
        ax.loglog(trials, rows["ess_per_s_total"], "o-", label=method)
    ax.set_xlabel("trials in the dataset (participants x trials)")
    ax.set_ylabel("min bulk ESS / s (compile included)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    raise SystemExit(main())
