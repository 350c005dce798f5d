"""Regenerate the example dataset: ``.venv/bin/python data/example/make_example.py``.

Simulates a two-group reversal-learning study with :func:`cogfit.simulate.simulate_bandit`
(model "rw") and writes it the way real lab files look: raw column names, 1-based responses,
empty cells for missed responses, a block column (one per reversal), an irrelevant column,
one exact duplicated row and one participant whose session crashed. Deterministic: a fixed
seed gives identical bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from cogfit.simulate import reversal_schedule, simulate_bandit

HERE = Path(__file__).resolve().parent
SEED = 20240611
N_PER_GROUP = 22
GROUPS = ("control", "patient")
N_TRIALS = 120
P_HIGH = 0.8
REVERSAL_EVERY = 60
MISSING_PROB = 0.03
SD = 0.3  # probit-scale between-participant sd, both parameters
MU_ALPHA = {"control": -0.2, "patient": -1.0}  # probit scale
MU_BETA = -0.2  # probit scale, both groups
BETA_MAX = 10.0  # beta = BETA_MAX * Phi(.)
CRASHED = "sub-044"  # session stopped after CRASHED_TRIALS trials
CRASHED_TRIALS = 30
DUPLICATE = ("sub-020", 61)  # this row is written twice, as a double export would


def phi(x: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF (scipy is not a dependency)."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x) / math.sqrt(2.0)))


def true_parameters(rng: np.random.Generator) -> pd.DataFrame:
    groups = np.repeat(GROUPS, N_PER_GROUP)
    n = groups.size
    mu_alpha = np.array([MU_ALPHA[g] for g in groups])
    alpha = phi(mu_alpha + SD * rng.standard_normal(n))
    beta = BETA_MAX * phi(MU_BETA + SD * rng.standard_normal(n))
    ids = [f"sub-{i:03d}" for i in range(1, n + 1)]
    return pd.DataFrame({"participant": ids, "group": groups, "alpha": alpha, "beta": beta})


def group_parameters() -> pd.DataFrame:
    """The generating group-level values; natural_median = transform(mu) (the median, not mean)."""
    rows = [("alpha", g, MU_ALPHA[g], SD, float(phi(MU_ALPHA[g]))) for g in GROUPS]
    rows += [("beta", g, MU_BETA, SD, BETA_MAX * float(phi(MU_BETA))) for g in GROUPS]
    return pd.DataFrame(
        rows, columns=["parameter", "group", "mu_probit", "sd_probit", "natural_median"]
    )


def raw_table(truth: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Simulated trials in the raw file's layout (all cells as text, "" for empty)."""
    schedule = reversal_schedule(N_TRIALS, P_HIGH, REVERSAL_EVERY, n_options=2)
    params = {"alpha": truth["alpha"].to_numpy(), "beta": truth["beta"].to_numpy()}
    choices, outcomes, valid = simulate_bandit("rw", params, schedule, rng, MISSING_PROB)
    rt = np.round(np.exp(rng.normal(6.3, 0.35, size=choices.shape))).astype(int)

    n_p, n_t = choices.shape
    table = pd.DataFrame(
        {
            "subject": np.repeat(truth["participant"].to_numpy(), n_t),
            "condition": np.repeat(truth["group"].to_numpy(), n_t),
            "trial_no": np.tile(np.arange(1, n_t + 1), n_p).astype(str),
            "block": np.tile(np.arange(n_t) // REVERSAL_EVERY + 1, n_p).astype(str),
            "response": np.where(valid, (choices + 1).astype(str), "").ravel(),
            "reward": np.where(valid, np.nan_to_num(outcomes).astype(int).astype(str), "").ravel(),
            "rt_ms": np.where(valid, rt.astype(str), "").ravel(),
        }
    )
    crashed = (table["subject"] == CRASHED) & (table["trial_no"].astype(int) > CRASHED_TRIALS)
    table = table[~crashed].reset_index(drop=True)
    dup = table.index[
        (table["subject"] == DUPLICATE[0]) & (table["trial_no"] == str(DUPLICATE[1]))
    ][0]
    return pd.concat([table.iloc[: dup + 1], table.iloc[dup:]], ignore_index=True)


def main() -> None:
    rng = np.random.default_rng(SEED)
    truth = true_parameters(rng)
    raw = raw_table(truth, rng)
    raw.to_csv(HERE / "bandit.csv", index=False, lineterminator="\n")
    truth.to_csv(
        HERE / "true_parameters.csv", index=False, float_format="%.6f", lineterminator="\n"
    )
    group_parameters().to_csv(
        HERE / "true_group_parameters.csv", index=False, float_format="%.6f", lineterminator="\n"
    )
    summary = truth.groupby("group")[["alpha", "beta"]].agg(["mean", "median"])
    print(f"wrote {len(raw)} rows for {truth.shape[0]} participants to {HERE / 'bandit.csv'}")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
