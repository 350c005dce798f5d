"""cogfit vs Stan on two more model families: igt_orl (Iowa gambling) and gng_m4 (go/no-go).

    python benchmarks/families.py [--families igt_orl gng_m4] [--participants 20 200]
                                  [--methods cogfit stan] [--max-stan-seconds 1800]
                                  [--repeats 3] [--repeat-max-trials 5000] [--check-only]

Each family is fitted by cogfit (``cogfit.fit.fit``) and by an equivalent Stan program
written here from cogfit's equations (``benchmarks/igt_orl.stan``,
``benchmarks/gng_m4.stan``: the same non-centred hierarchical model with one group, the
same priors, links and likelihood, missed trials skipped; cogfit fits with ``PRIORS``,
the programs' half-normal sds) on data simulated by the family's own simulator
(``cogfit.tasks.igt.simulate``, ``cogfit.tasks.gng.simulate``; 2% missed trials; the seed
depends on the family's trials and the size only), at the size of the family's example
data (igt 20 x 100, gng 20 x 240) and with more participants (``--participants``; the
same trials). Everything else is bench.py's, through its
helpers: 4 chains x (1000 warm-up + 1000 draws), target acceptance 0.8, each fit in its
own process, Stan compiled afresh per run, wall time with compilation included, minimum
bulk ESS over the group-level parameters (every ``<p>_mu`` and ``<p>_sigma``), sizes of at
most ``--repeat-max-trials`` trials run ``--repeats`` times (the median run kept), and
Stan skipped where its estimated time exceeds ``--max-stan-seconds``.

Self-check, before anything is timed: each Stan program's log density must equal
cogfit's up to a constant. On a small simulated dataset (missed trials holding junk on
Stan's side, so a program that read them would differ), the log joint density at random
parameter points from Stan (``log_prob`` without the Jacobian, PyStan) and from cogfit
(``numpyro.infer.util.log_density`` of ``cogfit.hierarchical.hierarchical_model``, float64)
must differ between points by the same amounts; otherwise the script stops with exit
status 2 and says by how much. ``--check-only`` runs only that.

Writes benchmarks/results/families.{parquet,md} (``--results``: another stem, as the GPU
check's ``families_gpu``), replacing the rows of the (family, size) pairs it ran and
keeping the others. Per row: build (compile) and sampling time, min bulk
ESS, ESS/s without and with compile time, gradient time per trial, peak RSS, the ratio
cogfit / Stan of ESS/s (compile included; ``cogfit_x_*``) and, on Stan's rows, the
largest difference between the two methods' posterior means of a group-level parameter
in posterior sds (``max_mean_diff_sd``); the md file lists the group means of both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bench  # benchmarks/, the script's own folder

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MISSED = 0.02  # share of missed trials in the simulated data
#: the Stan programs' group-sd priors where they are not the model's default: half-normal(1)
#: for the unbounded weights, whose default is hBayesDM's half-Cauchy(1) (the measurements
#: in docs/performance.md were made with these)
PRIORS = {
    "igt_orl": {p: {"sd_prior": "half_normal"} for p in ("betaF", "betaP")},
    "gng_m4": {p: {"sd_prior": "half_normal"} for p in ("b", "pi")},
}
KEYS = ("family", "participants", "trials")


@dataclass(frozen=True)
class Family:
    """One benchmarked model: its trials per participant (its example's), its options and
    Stan's time per trial of data (for the skip estimate only)."""

    trials: int
    n_options: int
    #: Stan's wall time per trial of data (compile included) on the 2-core VM, for the
    #: skip estimate only: the slowest of the example-size runs of 2026-12-02 (a shared,
    #: loaded machine: 400-455 s at igt 20 x 100, 211-436 s at gng 20 x 240). With more
    #: participants the trees deepen, so there it underestimates
    stan_s_per_trial: float


FAMILIES = {
    "igt_orl": Family(trials=100, n_options=4, stan_s_per_trial=0.23),
    "gng_m4": Family(trials=240, n_options=2, stan_s_per_trial=0.09),
}
#: gng_m4's sensitivities on the unconstrained scale (mean, sd); its other parameters
#: are the gng example's (gng_m3, whose one sensitivity is rhoRew's)
GNG_SENSITIVITIES = {"rhoRew": (1.5, 0.2), "rhoPun": (1.0, 0.2)}


def param_names(family: str) -> tuple[str, ...]:
    """The family's behavioural parameters, in its spec's order (plain data, no JAX)."""
    from cogfit.tasks import gng, igt

    return (igt.MODEL_PARAMS | gng.MODEL_PARAMS)[family]


def group_params(family: str) -> tuple[str, ...]:
    """The group-level sites whose minimum bulk ESS is the benchmark's measure."""
    return tuple(f"{p}_{role}" for p in param_names(family) for role in ("mu", "sigma"))


def simulate(family: str, n_p: int, n_t: int, missed: float = MISSED, seed: int | None = None):  # noqa: ANN201
    """``(columns, valid)``: the trial columns [P, T] as cogfit reads them (options and
    cues 0-based) and where a trial was answered, from the family's own simulator."""
    import numpy as np

    rng = np.random.default_rng(1000 * n_p + n_t if seed is None else seed)
    if family == "igt_orl":
        from cogfit.tasks import igt

        params = {}  # the example's population (igt.example), for any P
        for name, (mean, sd) in igt.EXAMPLE_PARAMS.items():
            values = rng.normal(mean, sd, n_p)
            if name in ("Arew", "Apun"):
                values = np.clip(values, 0.02, 0.95)
            elif name == "K":
                values = np.clip(values, 0.05, 4.5)
            params[name] = values
        sim = igt.simulate(family, params, rng, n_trials=n_t, missing_prob=missed)
        names = ("choice", "gain", "loss")
    else:
        from cogfit.tasks import gng

        shared = {k: v for k, v in gng.EXAMPLE_POPULATION.items() if k != "rho"}
        params = gng.population_draws(shared | GNG_SENSITIVITIES, n_p, rng)
        sim = gng.simulate(family, params, rng, n_trials=n_t, missing_prob=missed)
        names = ("cue", "pressed", "outcome")
    return {k: sim[k] for k in names}, sim["valid"]


def stan_data(columns: dict, valid, junk=None) -> dict:  # noqa: ANN001
    """The Stan program's data: options and cues 1-based, missed cells 0 (1 for codes),
    or, with a generator ``junk``, random values there (the self-check's)."""
    import numpy as np

    n_p, n_t = valid.shape
    data: dict = {"P": n_p, "T": n_t, "valid": valid.astype(int).tolist()}
    for name, values in columns.items():
        code = name in ("choice", "cue")
        if junk is None:
            filler = np.ones(values.shape, int) if code else np.zeros(values.shape)
        elif code:
            filler = junk.integers(1, 5, values.shape)
        elif name == "pressed":
            filler = junk.integers(0, 2, values.shape)
        else:
            filler = junk.normal(0.0, 2.0, values.shape)
        cells = np.where(valid, values + code, filler)
        data[name] = cells.astype(int if name in ("choice", "cue", "pressed") else float).tolist()
    return data


def self_check(family: str) -> dict:
    """Stan's and cogfit's log densities at random points: their differences from the
    first point, and the largest disagreement (run in its own process: float64)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import stan
    from numpyro.infer.util import log_density

    from cogfit.data import from_arrays
    from cogfit.hierarchical import hierarchical_model
    from cogfit.models import get_model

    n_p, n_t = 6, 60
    columns, valid = simulate(family, n_p, n_t, missed=0.1, seed=7)
    model = get_model(family).with_priors(PRIORS[family])
    data = from_arrays(columns, valid, n_options=FAMILIES[family].n_options)
    args = (model, data.scan_inputs(model), data.group_index, 1, data.n_options)
    rng = np.random.default_rng(11)
    # the program's own text: httpstan's cache may serve it (the timed runs never are)
    posterior = stan.build(
        (HERE / f"{family}.stan").read_text(), data=stan_data(columns, valid, junk=rng)
    )
    ours, theirs = [], []
    for _ in range(4):
        point = {}  # cogfit's sample sites: [groups] and [participants]
        for spec in model.params:
            point[f"{spec.name}_mu"] = rng.normal(spec.mean_loc, 0.5 * spec.mean_scale, 1)
            point[f"{spec.name}_sigma"] = rng.uniform(0.05, 2.0 * spec.sd_scale, 1)
            point[f"{spec.name}_offset"] = rng.normal(size=n_p)
        ours.append(float(log_density(hierarchical_model, args, {}, point)[0]))
        # Stan's: the same names, one group's values as scalars
        inits = {k: float(v[0]) if v.size == 1 else v.tolist() for k, v in point.items()}
        unconstrained = posterior.unconstrain_pars(inits)
        theirs.append(float(posterior.log_prob(unconstrained, adjust_transform=False)))
    d_ours = [x - ours[0] for x in ours[1:]]
    d_theirs = [x - theirs[0] for x in theirs[1:]]
    error = max(abs(a - b) for a, b in zip(d_ours, d_theirs, strict=True))
    scale = max(1.0, *(abs(x) for x in d_ours))
    return {
        "family": family,
        "cogfit_differences": d_ours,
        "stan_differences": d_theirs,
        "max_error": error,
        "ok": bool(error <= 1e-6 * scale),
    }


def has_pystan() -> bool:
    try:
        import stan  # noqa: F401
    except ImportError:
        return False
    return True


def run_check(family: str) -> dict:
    """:func:`self_check` in its own process; its result, or a failure with the error."""
    cmd = [sys.executable, __file__, "--check", family]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("CHECK ")]
    if proc.returncode != 0 or not lines:
        return {"family": family, "ok": False, "error": proc.stderr[-3000:]}
    return json.loads(lines[-1][len("CHECK ") :])


def worker(method: str, size: str, args: argparse.Namespace) -> None:
    """One fit of ``args.family`` by ``method`` (cogfit or stan); prints its row."""
    n_p, n_t = (int(x) for x in size.split("x"))
    family = args.family
    columns, valid = simulate(family, n_p, n_t)
    if method == "cogfit":
        from cogfit.runtime import configure_xla

        configure_xla(args.chains)  # before JAX's backend starts, as a fit's script does
        from cogfit.data import from_arrays

        data = from_arrays(columns, valid, n_options=FAMILIES[family].n_options)
        row = bench.run_cogfit(family, data, args, group_params(family), PRIORS[family])
    elif method == "stan":
        program = HERE / f"{family}.stan"
        row = bench.stan_row(
            program, stan_data(columns, valid), n_p * n_t, args, group_params(family)
        )
    else:
        raise ValueError(f"unknown method {method!r}; expected cogfit or stan")
    bench.emit_row(row)


def add_comparisons(table):  # noqa: ANN001, ANN201
    """Per (family, size): cogfit's ESS/s and gradient against each row's
    (``cogfit_x_*``, cogfit rows 1) and, on Stan's rows, the largest difference of a
    group-level posterior mean from cogfit's, in posterior sds."""
    import numpy as np

    table = table.copy()
    ref = table[table["method"] == "cogfit"].set_index(list(KEYS))
    index = table.set_index(list(KEYS)).index
    for col in ("ess_per_s", "ess_per_s_total", "grad_ns_per_trial"):
        base = index.map(ref[col].get).to_numpy(dtype=float)
        ratio = base / table[col].to_numpy(dtype=float)
        table[f"cogfit_x_{col}"] = 1 / ratio if col == "grad_ns_per_trial" else ratio
    diffs = []
    for _, row in table.iterrows():
        key = tuple(row[k] for k in KEYS)
        if row["method"] == "cogfit" or key not in ref.index:
            diffs.append(np.nan)
            continue
        theirs = ref.loc[key]
        worst = 0.0
        for site in group_params(row["family"]):
            sd = 0.5 * (row[f"sd_{site}"] + theirs[f"sd_{site}"])
            worst = max(worst, abs(row[f"mean_{site}"] - theirs[f"mean_{site}"]) / sd)
        diffs.append(worst)
    table["max_mean_diff_sd"] = diffs
    return table


def means_table(table) -> str:  # noqa: ANN001
    """Markdown: the group means (``<p>_mu``, unconstrained) of every method, per family
    and size."""
    import pandas as pd

    parts = []
    for (family, n_p, n_t), rows in table.groupby(list(KEYS), sort=False):
        cols = {}
        for _, row in rows.iterrows():
            cols[row["method"]] = {p: row[f"mean_{p}_mu"] for p in param_names(family)}
        frame = pd.DataFrame(cols).rename_axis("group mean (posterior mean of <p>_mu)")
        parts.append(f"{family}, {n_p} x {n_t}:\n\n" + frame.round(3).to_markdown() + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    p.add_argument("--participants", nargs="+", type=int, default=[20, 200])
    p.add_argument("--methods", nargs="+", default=["cogfit", "stan"], choices=["cogfit", "stan"])
    bench.add_run_arguments(p, repeat_max_trials=5000)
    p.add_argument("--check-only", action="store_true", help="only the log-density self-check")
    p.add_argument(
        "--results",
        default="families",
        help="stem of the result files in benchmarks/results/ (another device's run: "
        "families_gpu, so its rows do not replace this machine's)",
    )
    p.add_argument("--worker", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    p.add_argument("--family", help=argparse.SUPPRESS)
    p.add_argument("--check", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.check:
        print("CHECK " + json.dumps(self_check(args.check)), flush=True)
        return 0
    if args.worker:
        worker(*args.worker, args)
        return 0

    checks = []
    wanted = "stan" in args.methods or args.check_only
    if wanted and not has_pystan():
        print("log-density self-check: skipped (PyStan is not installed)", flush=True)
    elif wanted:
        for family in args.families:
            result = run_check(family)
            checks.append(result)
            if not result["ok"]:
                print(
                    f"\n*** SELF-CHECK FAILED: {family}.stan's log density is not cogfit's "
                    f"***\n{json.dumps(result, indent=2)}\n",
                    file=sys.stderr,
                    flush=True,
                )
                return 2
            print(
                f"log-density self-check {family}: ok (differences between points agree "
                f"within {result['max_error']:.1e}; cogfit "
                f"{', '.join(f'{x:.3f}' for x in result['cogfit_differences'])})",
                flush=True,
            )
    if args.check_only:
        return 0

    import pandas as pd

    rows = []
    keys = ("chains", "warmup", "samples", "target_accept")
    passthrough = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in keys]
    for family in args.families:
        fam = FAMILIES[family]
        for n_p in args.participants:
            n_t = fam.trials
            size = f"{n_p}x{n_t}"
            seeds = [args.seed]
            if n_p * n_t <= args.repeat_max_trials:
                seeds = list(range(args.seed, args.seed + args.repeats))
            print(f"{family} {size}:", flush=True)
            for method in args.methods:
                reason = bench.skip_reason(method, n_p, n_t, args, fam.stan_s_per_trial)
                if reason:
                    print(f"{size} {method}: skipped: {reason}", flush=True)
                    continue
                cmd = [*passthrough, f"--family={family}"]
                runs = [
                    bench.run_worker(method, size, n_p, n_t, seed, cmd, script=__file__)
                    for seed in seeds
                ]
                runs = [r for r in runs if r is not None]
                if runs:
                    rows.append({"family": family, **bench.median_run(runs)})
    if not rows:
        return 1
    table = add_comparisons(pd.DataFrame(rows))
    table["date"] = time.strftime("%Y-%m-%d")
    table["run"] = time.strftime("%Y-%m-%dT%H:%M")
    print(write_results(table, checks, args.results))
    return 0


def write_results(table, checks: list[dict], stem: str) -> str:  # noqa: ANN001
    """Merge ``table`` into benchmarks/results/<stem>.parquet, write <stem>.md (with the
    self-check's ``checks``); the md table."""
    RESULTS.mkdir(exist_ok=True)
    table = bench.merge_previous(table, RESULTS / f"{stem}.parquet", KEYS)
    table.to_parquet(RESULTS / f"{stem}.parquet", index=False)
    cols = [
        "family",
        "participants",
        "trials",
        "method",
        "build_s",
        "sampling_s",
        "min_bulk_ess",
        "ess_per_s",
        "ess_per_s_total",
        "cogfit_x_ess_per_s_total",
        "grad_ns_per_trial",
        "cogfit_x_grad_ns_per_trial",
        "max_mean_diff_sd",
        "peak_rss_mb",
        "device",
        "runs",
        "ess_per_s_total_min",
        "ess_per_s_total_max",
        "seed",
        "run",
    ]
    md = table.reindex(columns=cols).round(3).to_markdown(index=False)
    check_lines = "".join(
        f"- {c['family']}: differences of the log density between 3 pairs of random points "
        f"agree within {c['max_error']:.1e}\n"
        for c in checks
    )
    (RESULTS / f"{stem}.md").write_text(
        "cogfit vs Stan on igt_orl and gng_m4 (benchmarks/families.py). cogfit_x_*: how "
        "many times cogfit beats the row's method (cogfit rows: 1); max_mean_diff_sd: the "
        "largest difference of a group-level posterior mean from cogfit's, in posterior "
        "sds. Each (family, size)'s rows come from one run (`run`); where a method ran "
        "more than once (`runs`, seeds from the first on), its row is the run with the "
        "median ESS/s (compile included, `seed`), with the range over its runs.\n\n"
        + (f"Log-density self-check of this run:\n\n{check_lines}\n" if checks else "")
        + md
        + "\n\n"
        + means_table(table)
    )
    return md


if __name__ == "__main__":
    raise SystemExit(main())
