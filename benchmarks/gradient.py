"""Gradient time per trial of the hierarchical rw log density: cogfit vs the tutorial baseline.

    python benchmarks/gradient.py [--sizes 20x100 200x200 1000x200] [--repeats 200]

Both gradients are jitted, warmed up, then timed on the same simulated data in the same
run; the table gives ns per trial and the ratio baseline / cogfit (higher = cogfit
faster), for cogfit's sequential and associative scans. Prints Markdown and appends rows
to benchmarks/results/gradient.parquet.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from numpyro.infer.util import initialize_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_numpyro import model as baseline_model  # noqa: E402

from cogfit.hierarchical import hierarchical_model  # noqa: E402
from cogfit.models import REGISTRY  # noqa: E402
from cogfit.simulate import reversal_schedule, simulate_bandit  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def simulate(n_p: int, n_t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n_p + n_t)
    params = {"alpha": rng.uniform(0.1, 0.6, n_p), "beta": rng.uniform(1, 8, n_p)}
    c, o, v = simulate_bandit("rw", params, reversal_schedule(n_t), rng, 0.03)
    return np.where(v, c, 0).astype(np.int32), np.where(v, o, 0.0).astype(np.float32), v


def time_gradient(model, args: tuple, repeats: int) -> float:  # noqa: ANN001
    """Seconds per gradient of the potential energy at an initial point."""
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=args)
    grad = jax.jit(jax.grad(info.potential_fn))
    point = info.param_info.z
    jax.block_until_ready(grad(point))  # compile
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = grad(point)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / repeats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", nargs="+", default=["20x100", "200x200", "1000x200"])
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args(argv)
    rows = []
    for size in args.sizes:
        n_p, n_t = (int(x) for x in size.split("x"))
        choices, outcomes, mask = simulate(n_p, n_t)
        n = n_p * n_t
        base = time_gradient(baseline_model, (choices, outcomes, mask), args.repeats)
        row = {"participants": n_p, "trials": n_t, "baseline_ns": 1e9 * base / n}
        group = np.zeros(n_p, np.int32)
        for scan in ("sequential", "associative"):
            cog_args = (REGISTRY["rw"], choices, outcomes, mask, group, 1, 2, scan)
            t = time_gradient(hierarchical_model, cog_args, args.repeats)
            row[f"cogfit_{scan}_ns"] = 1e9 * t / n
            row[f"ratio_{scan}"] = base / t
        row.update(device=str(jax.devices()[0]), machine=platform.machine())
        row["date"] = time.strftime("%Y-%m-%d")
        rows.append(row)
        print(
            f"{size}: baseline {row['baseline_ns']:.1f} ns/trial, cogfit sequential "
            f"{row['cogfit_sequential_ns']:.1f} ({row['ratio_sequential']:.1f}x), associative "
            f"{row['cogfit_associative_ns']:.1f} ({row['ratio_associative']:.1f}x)",
            flush=True,
        )
    new = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table = RESULTS / "gradient.parquet"
    if table.exists():
        new = pd.concat([pd.read_parquet(table), new], ignore_index=True)
    new.to_parquet(table, index=False)
    (RESULTS / "gradient.md").write_text(new.round(2).to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
