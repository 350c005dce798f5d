"""Fit time of the hierarchical rw model by dataset size on the devices this machine has.

    python benchmarks/device_scaling.py [--sizes 20x100 200x200 ...] [--devices cpu gpu]

For each size it simulates a two-group dataset (plain NumPy, known parameters), fits it
with cogfit's own fit() on each available device and records warm-up (compilation
included) and sampling time, the minimum bulk ESS over group-level parameters and ESS per
second, and memory: the process's peak resident memory and, on a GPU, the device's peak
bytes in use (both peaks since the process started, so give sizes in increasing order),
each also per participant. For a scale check with short chains, e.g.
``--sizes 1000x200 10000x200 --warmup 150 --samples 150``. Results are appended to
benchmarks/results/device_scaling.{parquet,md}, one row per (size, device, machine), so
CPU and GPU figures from different machines sit side by side. Where both a CPU and a GPU
were measured in the same run, the GPU/CPU speed-up is printed.
"""

from __future__ import annotations

import argparse
import platform
import resource
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["20x100", "200x200", "1000x200"])
    p.add_argument("--devices", nargs="+", default=["cpu", "gpu"], choices=["cpu", "gpu"])
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scan", default="auto", choices=["auto", "sequential", "associative"])
    p.add_argument("--tag", default="", help="free text stored with the rows (e.g. machine)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from cogfit.runtime import configure_xla

    configure_xla(args.chains)  # before JAX starts: one CPU device per chain

    import arviz as az
    import jax
    import pandas as pd

    from cogfit.fit import SamplerSettings, fit
    from cogfit.simulate import as_task_data

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from simdata import simulate

    def dataset(n_p: int, n_t: int):  # noqa: ANN202
        choices, outcomes, valid, groups = simulate(n_p, n_t, groups=2)
        return as_task_data(choices, outcomes, valid, group_index=groups, groups=("a", "b"))

    def available(kind: str) -> bool:
        try:
            return bool(jax.devices(kind))
        except RuntimeError:
            return False

    devices = [d for d in args.devices if available(d)]
    for d in set(args.devices) - set(devices):
        print(f"skipping {d}: JAX sees no {d.upper()} here", file=sys.stderr)
    rows = []
    for size in args.sizes:
        n_p, n_t = (int(x) for x in size.lower().split("x"))
        data = dataset(n_p, n_t)
        for device in devices:
            settings = SamplerSettings(
                chains=args.chains,
                warmup=args.warmup,
                samples=args.samples,
                seed=args.seed,
                device=device,
                scan=args.scan,
            )
            t0 = time.perf_counter()
            idata = fit("rw", data, settings, dataset=size)
            total = time.perf_counter() - t0
            attrs = idata.posterior.attrs
            group_vars = [v for v in idata.posterior.data_vars if v.endswith(("_mu", "_sigma"))]
            ess = az.ess(idata, var_names=group_vars, method="bulk")
            min_ess = float(min(float(ess[v].min()) for v in group_vars))
            host_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            stats = jax.devices(device)[0].memory_stats() or {}
            device_mb = stats.get("peak_bytes_in_use", float("nan")) / 2**20
            row = {
                "participants": n_p,
                "trials": n_t,
                "device": device,
                "device_name": attrs["device"],
                "chain_method": attrs["chain_method"],
                "scan": attrs["scan"],  # the one that ran (auto resolved)
                "chains": args.chains,
                "warmup": args.warmup,
                "samples": args.samples,
                "warmup_s": float(attrs["warmup_s"]),
                "sampling_s": float(attrs["sampling_s"]),
                "total_s": total,
                "min_bulk_ess_group": min_ess,
                "ess_per_s_sampling": min_ess / float(attrs["sampling_s"]),
                "ess_per_s_total": min_ess / total,
                "divergences": int(idata.sample_stats["diverging"].sum()),
                "ms_per_participant": 1000 * total / n_p,
                "peak_host_mb": host_mb,
                "peak_device_mb": device_mb,
                "host_kb_per_participant": 1024 * host_mb / n_p,
                "host": socket.gethostname(),
                "machine": platform.machine(),
                "jax": jax.__version__,
                "tag": args.tag,
                "date": time.strftime("%Y-%m-%d"),
            }
            rows.append(row)
            print(
                f"{size:>10} {device}: warmup {row['warmup_s']:.1f}s sampling "
                f"{row['sampling_s']:.1f}s min ESS {min_ess:.0f} "
                f"({row['ess_per_s_total']:.2f} ESS/s incl. compile), peak host memory "
                f"{host_mb:.0f} MB, device {device_mb:.0f} MB",
                flush=True,
            )
    new = pd.DataFrame(rows)
    if {"cpu", "gpu"} <= set(new["device"]):
        wide = new.pivot(index=["participants", "trials"], columns="device", values="total_s")
        print("GPU speed-up over CPU (total time, same run):")
        print((wide["cpu"] / wide["gpu"]).round(2).to_string())
    RESULTS.mkdir(exist_ok=True)
    table = RESULTS / "device_scaling.parquet"
    if table.exists():
        new = pd.concat([pd.read_parquet(table), new], ignore_index=True)
    new.to_parquet(table, index=False)
    cols = [
        "date",
        "participants",
        "trials",
        "device",
        "device_name",
        "chain_method",
        "scan",
        "warmup",
        "samples",
        "warmup_s",
        "sampling_s",
        "min_bulk_ess_group",
        "ess_per_s_total",
        "ms_per_participant",
        "peak_host_mb",
        "peak_device_mb",
        "tag",
    ]
    new = new.reindex(columns=list(dict.fromkeys([*new.columns, *cols])))
    (RESULTS / "device_scaling.md").write_text(new[cols].round(2).to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
