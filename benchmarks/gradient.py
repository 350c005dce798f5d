"""Gradient time and memory per trial of the hierarchical rw log density, cogfit vs baseline.

    python benchmarks/gradient.py [--sizes 20x100 200x200 1000x200 10000x200] [--repeats 100]

Both gradients are jitted, warmed up, then timed (median of 5 rounds) on the same
simulated data in the same run; the table gives ns per trial and the ratio
baseline / cogfit (higher = cogfit faster), for cogfit's sequential and associative
scans (with the participant chunks a fit with default settings uses: ``cogfit_chunk``
participants per chunk, 0 for none), and the working memory XLA allocates for one
gradient (temporary buffers, from the compiled program's own memory analysis) per
participant. Each method runs with its faster XLA options: cogfit with the ones its fits
use (``runtime.configure_xla``), the baseline with the same except XLA's newer fusion
emitters (``baseline_xla``), so the baseline is timed in a child process. Prints Markdown
and appends rows to benchmarks/results/gradient.parquet.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from numpyro.infer.util import initialize_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_numpyro import model as baseline_model  # noqa: E402
from simdata import padded  # noqa: E402

from cogfit.data import from_arrays  # noqa: E402
from cogfit.fit import SamplerSettings  # noqa: E402
from cogfit.hierarchical import hierarchical_model  # noqa: E402
from cogfit.models import BehaviouralModel, get_model  # noqa: E402
from cogfit.runtime import XLA_BACKEND_DEFAULTS, configure_xla, participant_chunk  # noqa: E402
from cogfit.sampling import in_precision  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def baseline_xla(n_devices: int) -> None:
    """cogfit's XLA options for the tutorial baseline, except the legacy fusion emitters:
    they leave cogfit's gradient as it is but slow the baseline's (200 x 200: 20 against
    17 ns per trial, 1000 x 200: 17 against 12), so the baseline keeps XLA's default."""
    legacy = "xla_cpu_disable_new_fusion_emitters"
    configure_xla(n_devices, {k: v for k, v in XLA_BACKEND_DEFAULTS.items() if k != legacy})


def cogfit_trials(
    model: BehaviouralModel, choices: np.ndarray, outcomes: np.ndarray, valid: np.ndarray
) -> dict[str, np.ndarray]:
    """Bandit arrays [P, T] as cogfit's likelihood takes them, in float32 as a default fit
    has them (missed cells zeroed and masked)."""
    data = from_arrays({"choice": choices, "outcome": outcomes}, valid)
    return in_precision(data.scan_inputs(model), "float32")


def time_gradient(model, args: tuple, repeats: int) -> float:  # noqa: ANN001
    """Seconds per gradient of the potential energy at an initial point."""
    return profile_gradient(model, args, repeats)[0]


def profile_gradient(  # noqa: ANN001
    model, args: tuple, repeats: int, rounds: int = 5
) -> tuple[float, float]:
    """(seconds per gradient, MB of XLA temporary buffers) at an initial point.

    The time is the median over ``rounds`` rounds of ``repeats`` calls: one round alone
    moved by 20% or more between runs on a shared VM."""
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=args)
    point = info.param_info.z
    grad = jax.jit(jax.grad(info.potential_fn)).lower(point).compile()
    stats = grad.memory_analysis()
    temp_mb = float(getattr(stats, "temp_size_in_bytes", float("nan"))) / 2**20
    jax.block_until_ready(grad(point))
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeats):
            out = grad(point)
        jax.block_until_ready(out)
        per_call.append((time.perf_counter() - t0) / repeats)
    return float(np.median(per_call)), temp_mb


def baseline_rows(sizes: list[str], repeats: int) -> list[dict]:
    """The baseline's time and memory per size, measured in this process."""
    rows = []
    for size in sizes:
        n_p, n_t = (int(x) for x in size.split("x"))
        t, mb = profile_gradient(baseline_model, padded(n_p, n_t), repeats)
        rows.append(
            {"baseline_ns": 1e9 * t / (n_p * n_t), "baseline_kb_per_participant": 1024 * mb / n_p}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", nargs="+", default=["20x100", "200x200", "1000x200", "10000x200"])
    p.add_argument("--repeats", type=int, default=100)
    p.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # JAX reads XLA options when its backend starts (first use), so not at import:
    # bench.py imports this module after setting its own
    if args.baseline_only:
        baseline_xla(1)
        print("RESULT " + json.dumps(baseline_rows(args.sizes, args.repeats)), flush=True)
        return 0
    child = subprocess.run(
        [sys.executable, __file__, "--baseline-only", "--repeats", str(args.repeats), "--sizes"]
        + args.sizes,
        capture_output=True,
        text=True,
    )
    lines = [x for x in child.stdout.splitlines() if x.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"baseline gradients failed:\n{child.stderr[-2000:]}")
    baselines = json.loads(lines[0][len("RESULT ") :])
    configure_xla(1)  # the options cogfit's fits run with
    rw = get_model("rw")
    rows = []
    for size, base_row in zip(args.sizes, baselines, strict=True):
        n_p, n_t = (int(x) for x in size.split("x"))
        trials = cogfit_trials(rw, *padded(n_p, n_t))
        n = n_p * n_t
        base = base_row["baseline_ns"] * n / 1e9
        row = {"participants": n_p, "trials": n_t, **base_row}
        group = np.zeros(n_p, np.int32)
        backend = jax.devices()[0].platform
        for scan in ("sequential", "associative"):
            # participant chunks as a fit with default settings would use them
            chunk = participant_chunk(SamplerSettings(scan=scan), backend, n_p, n_t)
            cog_args = (rw, trials, group, 1, 2, scan, chunk)
            t, mb = profile_gradient(hierarchical_model, cog_args, args.repeats)
            row[f"cogfit_{scan}_ns"] = 1e9 * t / n
            row[f"cogfit_{scan}_kb_per_participant"] = 1024 * mb / n_p
            row[f"ratio_{scan}"] = base / t
            if scan == "sequential":
                row["cogfit_chunk"] = chunk
        row.update(device=str(jax.devices()[0]), machine=platform.machine())
        row["date"] = time.strftime("%Y-%m-%d")
        rows.append(row)
        print(
            f"{size}: baseline {row['baseline_ns']:.1f} ns/trial, cogfit sequential "
            f"{row['cogfit_sequential_ns']:.1f} ({row['ratio_sequential']:.1f}x), associative "
            f"{row['cogfit_associative_ns']:.1f} ({row['ratio_associative']:.1f}x); working "
            f"memory per participant: baseline {row['baseline_kb_per_participant']:.1f} KB, "
            f"cogfit {row['cogfit_sequential_kb_per_participant']:.1f} KB",
            flush=True,
        )
    new = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table = RESULTS / "gradient.parquet"
    if table.exists():
        old = pd.read_parquet(table).rename(columns={"cogfit_block": "cogfit_chunk"})
        new = pd.concat([old, new], ignore_index=True)
    new.to_parquet(table, index=False)
    (RESULTS / "gradient.md").write_text(new.round(2).to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
