"""Shared test builders: synthetic posteriors that follow the posterior.nc contract, and the
analysis tables (model comparison, posterior predictive checks) with their columns."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from cogfit.data import TaskData, from_arrays
from cogfit.models.spec import ModelSpec
from cogfit.names import OBSERVED, VALID

GROUPS = ["control", "patient"]
PARTICIPANTS = ["p01", "p02", "p03", "p04", "p05", "p06"]
LINKS = {"alpha": lambda x: 1 / (1 + np.exp(-x)), "beta": np.exp}
#: Divergent draws planted in the bad fit: chain -> draw indices.
BAD_DIVERGENCES = {1: [3, 50, 51, 60, 70, 71, 99], 3: [10, 20, 30]}  # n_draws >= 100


def make_idata(
    kind: str = "good",
    participants: list[str] | None = None,
    groups: list[str] | None = None,
    n_chains: int = 4,
    n_draws: int = 500,
    seed: int = 0,
    max_tree_depth: int | None = 10,
    model: str = "rw",
    dataset: str = "demo",
    priors: list[dict] | None = None,
) -> az.InferenceData:
    """A posterior.nc-shaped InferenceData: "good" = iid draws, "bad" = chains disagree;
    ``priors`` (ParamSpec dicts) is recorded as the ``priors`` attribute when given."""
    rng = np.random.default_rng(seed)
    participants = participants or PARTICIPANTS
    groups = groups or GROUPS
    n_p, n_g, shape = len(participants), len(groups), (n_chains, n_draws)
    group_index = np.arange(n_p) % n_g
    posterior = {}
    for name, link in LINKS.items():
        mu = rng.normal(0.0, 0.3, (*shape, n_g))
        if kind == "bad":
            mu = mu + np.arange(n_chains)[:, None, None]  # every chain in its own place
        sigma = np.abs(rng.normal(0.0, 0.3, (*shape, n_g))) + 0.1
        offset = rng.normal(size=(*shape, n_p))
        posterior |= {
            f"{name}_mu": mu,
            f"{name}_sigma": sigma,
            f"{name}_mu_natural": link(mu),
            f"{name}_offset": offset,
            name: link(mu[..., group_index] + sigma[..., group_index] * offset),
        }
    dims = {
        v: ["participant" if v in LINKS or v.endswith("_offset") else "group"] for v in posterior
    }
    n_trials = 8
    everywhere = np.ones((n_p, n_trials), dtype=bool)
    trial_arrays = {
        VALID: everywhere,
        "has_choice": everywhere,
        "outcome": rng.integers(0, 2, (n_p, n_trials)).astype(float),
        "has_outcome": everywhere,
        "block_start": np.zeros((n_p, n_trials), dtype=bool),
    }
    attrs = {
        "parameters": ",".join(LINKS),
        "model": model,
        "dataset": dataset,
        "cogfit_version": "0.1.0",
        "jax_version": "0.10.2",
        "numpyro_version": "0.22.0",
        "device": "cpu",
        "scan": "associative",
        "seed": 1234,
        "sampler_settings": json.dumps({"num_warmup": 500, "num_samples": n_draws}),
        "data_hash": "d" * 16,
        "model_hash": "m" * 16,
        "wall_time_s": 12.5,
    }
    if max_tree_depth is not None:
        attrs["max_tree_depth"] = max_tree_depth
    if priors is not None:
        attrs["priors"] = json.dumps(priors)
    idata = az.from_dict(
        posterior=posterior,
        sample_stats=_sample_stats(rng, kind, shape),
        log_likelihood={OBSERVED: rng.normal(-0.7, 0.1, (*shape, n_p))},
        observed_data={"choice": rng.integers(0, 2, (n_p, n_trials))},
        constant_data={**trial_arrays, "group_index": group_index},
        coords={"group": groups, "participant": participants},
        dims={
            **dims,
            OBSERVED: ["participant"],
            "choice": ["participant", "trial"],
            **{k: ["participant", "trial"] for k in trial_arrays},
            "group_index": ["participant"],
        },
    )
    idata.posterior.attrs.update(attrs)
    return idata


def _sample_stats(rng: np.random.Generator, kind: str, shape: tuple[int, int]) -> dict:
    diverging = np.zeros(shape, dtype=bool)
    energy = rng.normal(size=shape)
    depth = rng.integers(1, 6, shape)
    if kind == "bad":
        for chain, draws in BAD_DIVERGENCES.items():
            diverging[chain, draws] = True
        energy[0] = np.cumsum(energy[0])  # a random walk: E-BFMI far below 0.3
        depth = rng.integers(1, 11, shape)
    return {
        "diverging": diverging,
        "tree_depth": depth,
        "n_steps": 2**depth - 1,
        "energy": energy,
        "lp": rng.normal(size=shape),
        "acceptance_rate": rng.uniform(0.7, 1.0, shape),
        "step_size": np.full(shape, 0.3),
    }


#: The priors attribute the synthetic fits record (ParamSpec fields, as the fit writes them).
PRIORS = [
    {
        "name": "alpha",
        "link": "probit",
        "upper": None,
        "mean_loc": 0.0,
        "mean_scale": 1.0,
        "sd_scale": 0.5,
        "description": "learning rate <per trial>",
    },
    {
        "name": "beta",
        "link": "softplus",
        "upper": 20.0,
        "mean_loc": 1.5,
        "mean_scale": 0.75,
        "sd_scale": 0.25,
        "description": "inverse temperature of the softmax",
        "sd_prior": "half_cauchy",
    },
]


def make_comparison(
    models: list[str],
    participants: list[str],
    groups: list[str] | None = None,
    warn: tuple[str, ...] = (),
    seed: int = 0,
    method: str = "psis",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """model_comparison.parquet and model_comparison_participants.parquet as the compare
    stage writes them (columns and invariants only: best first with rank 0, ``elpd_diff =
    elpd_best - elpd`` >= 0, probabilities that sum to one, ``n_best`` counting the
    participants' ``best``; kfold without Pareto k); ``warn`` names the models whose
    Pareto k trigger the warning."""
    rng = np.random.default_rng(seed)
    groups = groups or GROUPS
    n_m, n_p = len(models), len(participants)
    elpd_p = rng.normal(-50.0, 5.0, (n_m, n_p)) + np.arange(n_m)[::-1, None] * 0.5
    bms_p = rng.dirichlet(np.ones(n_m), n_p).T  # [model, participant]
    best = bms_p.argmax(axis=0)
    order = np.argsort(-elpd_p.sum(axis=1))
    elpd = elpd_p.sum(axis=1)
    rows = []
    for rank, m in enumerate(order):
        bad = 3 if models[m] in warn else 0
        rows.append(
            {
                "model": models[m],
                "rank": rank,
                "method": method,
                "n_participants": n_p,
                "elpd": elpd[m],
                "se": float(rng.uniform(3, 6)),
                "p_eff": float(rng.uniform(2, 8)),
                "elpd_diff": elpd[order[0]] - elpd[m],
                "diff_se": 0.0 if rank == 0 else float(rng.uniform(0.5, 2)),
                "weight": 0.0,
                "pareto_k_max": (0.9 if bad else 0.4) if method == "psis" else np.nan,
                "k_good": n_p - bad if method == "psis" else 0,
                "k_bad": bad - 1 if bad else 0,
                "k_very_bad": 1 if bad else 0,
                "k_warning": bool(bad),
                "is_ess_min": float(rng.uniform(20, 200)),
                "bms_frequency": 0.0,
                "bms_xp": 0.0,
                "bms_pxp": 0.0,
                "bms_bor": 0.12,
                "n_best": int((best == m).sum()),
            }
        )
    table = pd.DataFrame(rows)
    for column in ("weight", "bms_frequency", "bms_xp", "bms_pxp"):
        table[column] = rng.dirichlet(np.ones(n_m))
    per = pd.DataFrame(
        {
            "participant": np.tile(participants, n_m),
            "group": np.tile([groups[i % len(groups)] for i in range(n_p)], n_m),
            "model": np.repeat(models, n_p),
            "elpd": elpd_p.ravel(),
            "pareto_k": rng.uniform(0, 0.6, n_m * n_p),
            "is_ess": rng.uniform(20, 200, n_m * n_p),
            "bms_probability": bms_p.ravel(),
            "best": (best[None, :] == np.arange(n_m)[:, None]).ravel(),
        }
    )
    return table, per


def make_ppc(
    groups: list[str] | None = None,
    blocks: list[str] | None = None,
    participants: list[str] | None = None,
    flagged: tuple[str, ...] = (),
    n_bins: int = 4,
    trials_per_block: int = 40,
    seed: int = 0,
) -> pd.DataFrame:
    """ppc.parquet as the ppc stage writes it: learning curves per group, block and bin
    (with blocks, also pooled over them as block ``all``), stay probabilities per group
    after a better and a worse outcome, and per participant the proportion of best choices
    with a p-value (those in ``flagged`` below 0.05 and flagged; other rows are flagged
    when the observed value lies outside the predicted interval)."""
    rng = np.random.default_rng(seed)
    groups = groups or GROUPS
    blocks = blocks or ["all"]
    participants = participants or PARTICIPANTS
    rows = []
    base = {"condition": "", "participant": "", "interval": 0.9, "p_value": np.nan}
    width = trials_per_block // n_bins
    if blocks != ["all"]:
        blocks = [*blocks, "all"]
    for group, block in itertools.product(groups, blocks):
        for k in range(n_bins):
            mean = 0.5 + 0.4 * (k + 1) / n_bins
            low = k * width + 1  # position within the block
            rows.append(
                base
                | _predicted(rng, mean)
                | {"statistic": "learning_curve", "group": group, "block": block, "bin": k}
                | {"trial_low": low, "trial_high": low + width - 1, "n": 4 * width}
            )
    for group, condition in itertools.product(groups, ["better", "worse"]):
        mean = 0.85 if condition == "better" else 0.55
        rows.append(
            base
            | _predicted(rng, mean)
            | {"statistic": "stay", "group": group, "block": "all", "bin": -1}
            | {"trial_low": np.nan, "trial_high": np.nan, "condition": condition, "n": 100}
        )
    for i, who in enumerate(participants):
        p = 0.01 if who in flagged else float(rng.uniform(0.2, 0.9))
        rows.append(
            base
            | _predicted(rng, 0.7)
            | {"statistic": "participant", "group": groups[i % len(groups)], "block": "all"}
            | {"bin": -1, "trial_low": np.nan, "trial_high": np.nan, "participant": who}
            | {"n": 80, "p_value": p}
        )
    table = pd.DataFrame(rows)
    outside = (table["observed"] < table["predicted_low"]) | (
        table["observed"] > table["predicted_high"]
    )
    people = table["statistic"] == "participant"
    table["flagged"] = np.where(people, table["p_value"] < 0.05, outside)
    return table


def _predicted(rng: np.random.Generator, mean: float) -> dict[str, float]:
    spread = abs(mean) * 0.1
    return {
        "observed": mean + rng.normal(0, spread / 2),
        "predicted_mean": mean,
        "predicted_low": mean - spread,
        "predicted_high": mean + spread,
    }


def write_fit_artifacts(
    folder: Path,
    participants: list[str] | None = None,
    groups: list[str] | None = None,
    model: str = "rw",
    kind: str = "good",
    n_draws: int = 100,
    blocks: list[str] | None = None,
    flagged: tuple[str, ...] = (),
    rope: dict[str, float] | None = None,
) -> dict[str, Path]:
    """A fit's analysis artifacts as the pipeline writes them: ``posterior`` (synthetic,
    with priors), ``summary`` (:func:`cogfit.diagnostics.summarise`), ``contrasts``
    (:func:`cogfit.contrasts.run_contrasts`) and ``ppc`` (:func:`make_ppc`)."""
    from cogfit.contrasts import run_contrasts
    from cogfit.diagnostics import summarise
    from cogfit.io import write_netcdf, write_parquet

    participants = participants or PARTICIPANTS
    groups = groups or GROUPS
    idata = make_idata(kind, participants, groups, n_draws=n_draws, model=model, priors=PRIORS)
    paths = {
        name: folder / f"{name}.{ext}"
        for name, ext in (("posterior", "nc"), ("summary", "parquet"))
        + (("contrasts", "parquet"), ("ppc", "parquet"))
    }
    write_netcdf(idata, paths["posterior"])
    write_parquet(summarise(idata, hdi_prob=0.9), paths["summary"])
    run_contrasts(paths["posterior"], paths["contrasts"], hdi_prob=0.9, rope=rope)
    table = make_ppc(groups, blocks, participants, flagged)
    write_parquet(table, paths["ppc"])
    return paths


def random_trials(
    spec: ModelSpec, n_p: int, n_t: int, seed: int = 0, n_options: int = 3
) -> TaskData:
    """Random trials of every column ``spec`` declares, in each column's range, with
    about 10% missed trials, padding (participants of different lengths), empty cells
    where a column may be empty, and a block start halfway."""
    rng = np.random.default_rng(seed)
    columns, observed = {}, {}
    for column in spec.columns:
        if column.kind == "real":
            values = rng.normal(0.0, 1.0, (n_p, n_t)).round(2)
        elif column.values:
            values = rng.choice(np.asarray(column.values), (n_p, n_t))
        else:
            values = rng.integers(0, column.n_levels(n_options), (n_p, n_t))
        columns[column.name] = values
        if column.missing:
            observed[column.name] = rng.random((n_p, n_t)) > 0.15
    lengths = rng.integers(n_t // 2, n_t + 1, n_p)
    lengths[0] = n_t
    valid = (rng.random((n_p, n_t)) > 0.1) & (np.arange(n_t) < lengths[:, None])
    block_start = np.zeros((n_p, n_t), dtype=bool)
    block_start[:, n_t // 2] = True
    return from_arrays(
        columns,
        valid,
        observed=observed,
        group_index=np.arange(n_p) % 2,
        groups=("a", "b"),
        block_start=block_start,
        n_options=n_options,
    )
