"""Posterior predictive checks against plain-NumPy replicates and direct pandas summaries."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from test_regressors import delta_rule_loop, random_draws

from cogfit.data import task_data_from_trials
from cogfit.fitted import aligned_trials, load_fit, read_trials
from cogfit.models import get_model
from cogfit.ppc import (
    COLUMNS,
    HitHistogram,
    PPCSettings,
    ppc_table,
    predicted_choices,
    run_ppc,
)
from cogfit.settings import settings_from_section
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit
from cogfit.trialwise import PosteriorDraws

SEED = 11


def numpy_replicates(model: str, draws: dict, data, seed: int) -> tuple:  # noqa: ANN001
    """Choices [D, P, T] drawn from the NumPy loop's probabilities with the documented
    uniforms (the first option whose cumulative probability reaches u), the probabilities,
    and the distance of each uniform to the nearest inner CDF boundary."""
    n_draws, n_p = draws["beta"].shape
    flat = {k: v.reshape(-1) for k, v in draws.items()}
    tile = (n_draws, 1)
    probs = delta_rule_loop(
        model,
        flat,
        np.tile(data.trials["choice"], tile),
        np.tile(data.trials["outcome"], tile),
        np.tile(data.mask, tile),
        data.n_options,
    )["probs"].reshape(n_draws, n_p, data.n_trials, data.n_options)
    u = np.random.default_rng(seed).random((n_draws, n_p, data.n_trials))
    cdf = np.cumsum(probs, axis=-1)
    cdf[..., -1] = np.inf  # the last option takes whatever rounding leaves
    choices = np.where(data.mask, np.argmax(cdf >= u[..., None], axis=-1), -1)
    boundary = np.abs(cdf[..., :-1] - u[..., None]).min(axis=-1)
    return choices, probs, boundary


@pytest.mark.parametrize("model_name", ["rw", "rw_dual", "rw_persev"])
def test_simulated_choices_equal_the_numpy_loop(model_name: str) -> None:
    rng = np.random.default_rng(4)
    params = {"alpha": np.full(4, 0.4), "beta": np.full(4, 3.0)}
    choices, outcomes, valid = simulate_bandit(
        "rw", params, reversal_schedule(25, 0.8, 9, 3), rng, missing_prob=0.1
    )
    valid[0, 20:] = False  # a shorter participant: padding at the end
    data = as_task_data(choices, outcomes, valid, n_options=3)
    draws = random_draws(model_name, 7, 4, seed=2)
    budget = 3 * 4 * 25 * 3  # 3 draws per chunk: 3 + 3 + 1 (padded)
    got = predicted_choices(get_model(model_name), data, draws, SEED, budget=budget)
    expected, _, boundary = numpy_replicates(model_name, draws, data, SEED)
    differ = got != expected
    assert (got[:, ~data.mask] == -1).all() and (got[:, data.mask] >= 0).all()
    # float32 probabilities against float64: a uniform within rounding of a boundary may fall
    # on its other side, nowhere else
    assert differ.sum() <= 1 and (boundary[differ] < 1e-5).all()
    assert len(np.unique(got[:, data.mask])) == 3


def hand_made_trials() -> pd.DataFrame:
    """Three participants in two groups, two blocks of four trials, a few missed."""
    choice = {
        "p1": [0, 0, 1, 0, 1, None, 1, 1],
        "p2": [1, 0, 0, 0, 0, 1, None, 1],
        "p3": [0, 1, 1, 1, 1, 0, 0, 0],
    }
    outcome = {
        "p1": [1, 1, 0, 1, 1, None, 0, 1],
        "p2": [0, 1, 1, 0, 0, 1, None, 1],
        "p3": [0, 1, 1, 0, 1, 0, 1, 0],
    }
    frames = [
        pd.DataFrame(
            {
                "participant": pid,
                "group": "b" if pid == "p3" else "a",
                "trial": np.arange(1, 9) * 2,
                "choice": pd.array(choice[pid], dtype="Int64"),
                "outcome": np.array(outcome[pid], dtype=float),
                "missed": [c is None for c in choice[pid]],
                "block": [1, 1, 1, 1, 2, 2, 2, 2],
            }
        )
        for pid in choice
    ]
    return pd.concat(frames, ignore_index=True)


def reference_long(trials: pd.DataFrame, replicates: np.ndarray) -> pd.DataFrame:
    """One row per source (``obs`` or a draw) and valid trial, with every label the summaries
    group by and whether the choice was best and a stay, computed row by row."""
    valid = trials[~trials["missed"]]
    means = valid.groupby(["participant", "block", "choice"])["outcome"].mean()
    mean_outcome = valid["outcome"].mean()
    records = []
    for pid, own in trials.groupby("participant", sort=True):
        p = sorted(trials["participant"].unique()).index(pid)
        previous = None
        for t, row in enumerate(own.itertuples()):
            if row.missed:
                continue
            best = means[pid, row.block]
            position = t % 4 + 1  # every block has four trials here
            condition = ""
            if previous is not None and previous.outcome != mean_outcome:
                condition = "better" if previous.outcome > mean_outcome else "worse"
            made = {"obs": row.choice}
            made |= {f"d{d:02d}": replicates[d, p, t] for d in range(len(replicates))}
            for source, choice in made.items():
                records.append(
                    {
                        "source": source,
                        "participant": pid,
                        "group": row.group,
                        "block": str(row.block),
                        "bin": (position - 1) // 2,  # bins of two positions
                        "best": best.get(choice, -np.inf) == best.max(),
                        "condition": condition,
                        "stay": previous is not None and choice == previous.choice,
                    }
                )
            previous = row
    return pd.DataFrame(records)


def check_against(got: pd.DataFrame, long: pd.DataFrame, keys: list[str], hit: str) -> None:
    """The table's rows equal the reference's proportions of ``hit`` grouped by ``keys``;
    outside participant rows, flagged when the observed lies outside the interval."""
    rates = long.groupby(["source", *keys])[hit].mean().unstack("source")
    counts = long[long["source"] == "obs"].groupby(keys).size()
    assert len(got) == len(rates)
    for row in got.itertuples():
        key = tuple(getattr(row, k) for k in keys)
        key = key if len(keys) > 1 else key[0]
        observed, draws = rates.loc[key, "obs"], rates.loc[key].drop("obs").to_numpy(float)
        assert row.n == counts[key]
        assert row.observed == pytest.approx(observed, abs=1e-12)
        assert row.predicted_mean == pytest.approx(draws.mean(), abs=1e-12)
        low, high = np.quantile(draws, [0.1, 0.9])
        assert (row.predicted_low, row.predicted_high) == pytest.approx((low, high), abs=1e-12)
        if row.statistic != "participant":
            assert row.flagged == (observed < low or observed > high)


def test_summaries_equal_a_direct_computation() -> None:
    trials = hand_made_trials()
    data = task_data_from_trials(trials, 2)
    rows = aligned_trials(data, trials)
    draws = random_draws("rw", 30, 3, seed=6)
    settings = PPCSettings(draws=30, bins=2, interval=0.8, p_value_min=0.05)
    table = ppc_table(get_model("rw"), data, rows, draws, settings, SEED)
    assert list(table.columns) == list(COLUMNS)
    replicates, probs, _ = numpy_replicates("rw", draws, data, SEED)
    long = reference_long(trials, replicates)

    curve = table[table["statistic"] == "learning_curve"]
    per_block = curve[curve["block"] != "all"]
    check_against(per_block, long, ["group", "block", "bin"], "best")
    check_against(curve[curve["block"] == "all"], long, ["group", "bin"], "best")
    assert list(per_block["trial_low"]) == [1.0, 3.0] * 4
    assert list(per_block["trial_high"]) == [2.0, 4.0] * 4
    stay = table[table["statistic"] == "stay"]
    check_against(stay, long[long["condition"] != ""], ["group", "condition"], "stay")
    people = table[table["statistic"] == "participant"]
    check_against(people, long, ["participant"], "best")

    picked = lambda c: np.take_along_axis(  # noqa: E731
        np.log(probs), np.maximum(c, 0)[..., None], axis=-1
    )[..., 0]
    t_rep = np.where(data.mask, picked(replicates), 0).sum(-1)
    observed = np.broadcast_to(data.trials["choice"], replicates.shape)
    t_obs = np.where(data.mask, picked(observed), 0).sum(-1)
    np.testing.assert_allclose(people["p_value"], (t_rep <= t_obs).mean(axis=0))
    assert list(people["flagged"]) == list(people["p_value"] < 0.05)
    other = table[table["statistic"] != "participant"]
    assert other["p_value"].isna().all() and (people["block"] == "all").all()
    assert (stay["bin"] == -1).all() and stay["trial_low"].isna().all()


def arrays_to_trials(choices: np.ndarray, outcomes: np.ndarray, valid: np.ndarray) -> pd.DataFrame:
    """A cleaned table (one group, no blocks) of simulated arrays."""
    n_p, n_t = choices.shape
    trials = pd.DataFrame(
        {
            "participant": np.repeat([f"s{i:03d}" for i in range(n_p)], n_t),
            "group": "all",
            "trial": np.tile(np.arange(1, n_t + 1), n_p),
            "choice": pd.array(np.where(valid, choices, -1).ravel(), dtype="Int64"),
            "outcome": np.where(valid, outcomes, np.nan).ravel(),
            "missed": ~valid.ravel(),
        }
    )
    trials.loc[trials["missed"], "choice"] = pd.NA
    return trials


def test_p_values_are_near_uniform_for_the_model_and_flag_random_choices() -> None:
    """Learners simulated from rw with draws near their parameters, and four random
    responders checked with a learner's parameters."""
    rng = np.random.default_rng(21)
    n_learners, n_random, n_trials = 48, 4, 80
    truth = {"alpha": rng.uniform(0.2, 0.6, n_learners), "beta": rng.uniform(2, 6, n_learners)}
    schedule = reversal_schedule(n_trials, 0.8, 40)
    choices, outcomes, valid = simulate_bandit("rw", truth, schedule, rng)
    random_choice = rng.integers(0, 2, (n_random, n_trials))
    random_outcome = (rng.random((n_random, n_trials)) < schedule[None, :, 0]).astype(float)
    random_outcome = np.where(random_choice == 0, random_outcome, 1 - random_outcome)
    trials = arrays_to_trials(
        np.concatenate([choices, random_choice]),
        np.concatenate([outcomes, random_outcome]),
        np.concatenate([valid, np.ones((n_random, n_trials), bool)]),
    )
    data = task_data_from_trials(trials, 2)
    n_draws = 200
    alpha = np.concatenate([truth["alpha"], np.full(n_random, 0.5)])
    beta = np.concatenate([truth["beta"], np.full(n_random, 8.0)])
    shape = (n_draws, alpha.size)
    draws = {
        "alpha": np.clip(alpha + rng.normal(0, 0.02, shape), 0.01, 0.99),
        "beta": beta * np.exp(rng.normal(0, 0.05, shape)),
    }
    table = ppc_table(get_model("rw"), data, aligned_trials(data, trials), draws, PPCSettings(), 3)
    assert set(table.loc[table["statistic"] == "learning_curve", "block"]) == {"all"}
    people = table[table["statistic"] == "participant"]
    p = people["p_value"].to_numpy()
    learners, randoms = p[:n_learners], p[n_learners:]
    assert people["flagged"].to_numpy()[n_learners:].all() and (randoms < 0.01).all()
    assert np.mean(learners < 0.05) <= 0.15
    ks = np.max(np.abs(np.sort(learners) - (np.arange(n_learners) + 0.5) / n_learners))
    assert ks < 0.25, ks


def test_settings_defaults_are_the_schemas() -> None:
    assert settings_from_section(PPCSettings, "ppc", {}) == PPCSettings()


def test_run_ppc_end_to_end(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "ppc.parquet"
    settings = PPCSettings(draws=60, bins=4)
    run_ppc(analysis_fits["rw_dual"], analysis_fits["trials"], out, settings, seed=1)
    table = pd.read_parquet(out)
    assert list(table.columns) == list(COLUMNS)
    assert set(table["statistic"]) == {"learning_curve", "stay", "participant"}
    curve = table[table["statistic"] == "learning_curve"]
    assert set(curve["block"]) == {"1", "2", "all"} and set(curve["group"]) == {
        "control",
        "patient",
    }
    assert len(curve) == 2 * 3 * 4  # groups x (two blocks and pooled) x bins
    assert list(curve["trial_low"].iloc[:4]) == [1.0, 11.0, 21.0, 31.0]  # 40 trials a block
    people = table[table["statistic"] == "participant"]
    assert len(people) == 16 and people["p_value"].between(0, 1).all()
    assert not people["flagged"].all()  # data simulated from rw_dual, which was fitted

    # the observed learning curve of block 1, bin 0, control: directly from the table
    trials = pd.read_parquet(analysis_fits["trials"])
    valid = trials[~trials["missed"]]
    means = valid.groupby(["participant", "block", "choice"])["outcome"].mean()
    best = means[means == means.groupby(level=[0, 1]).transform("max")].index
    first = valid[(valid["block"] == 1) & (valid["group"] == "control")]
    first = first[(first["trial"] - 1) % 40 < 10]
    is_best = pd.MultiIndex.from_frame(first[["participant", "block", "choice"]]).isin(best)
    row = curve[(curve["block"] == "1") & (curve["bin"] == 0) & (curve["group"] == "control")]
    assert row["observed"].item() == pytest.approx(is_best.mean())
    assert row["n"].item() == len(first)


@pytest.mark.parametrize("n_draws", [1, 2, 9, 200])
def test_the_histogram_gives_numpys_mean_and_quantiles(n_draws: int) -> None:
    """Per-draw hit counts fed in uneven chunks: the mean and the quantiles of the
    proportions equal np.mean's and np.quantile's over the [draws, cells] array, exactly
    (a cell with no trials gives NaN in both)."""
    rng = np.random.default_rng(n_draws)
    n = np.array([1, 7, 20, 20, 3, 0, 150])
    counts = rng.integers(0, n + 1, (n_draws, n.size))
    counts[:, 2] = 20  # a cell where every draw agrees
    summary = HitHistogram(n)
    cuts = np.unique(np.r_[0, rng.integers(0, n_draws + 1, 3), n_draws])
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        summary.add(slice(lo, hi), counts[lo:hi].astype(float))
    with np.errstate(invalid="ignore"):
        rates = counts / n
    for tails in ([0.05, 0.95], [0.1, 0.9], [0.25, 0.75], [0.0, 1.0]):
        mean, low, high = summary.summary(tails)
        np.testing.assert_array_equal(mean, rates.mean(axis=0))
        np.testing.assert_array_equal(low, np.quantile(rates, tails[0], axis=0))
        np.testing.assert_array_equal(high, np.quantile(rates, tails[1], axis=0))


def test_results_do_not_depend_on_the_chunks(
    analysis_fits: dict[str, Path], tmp_path: Path
) -> None:
    """run_ppc (draws read lazily, default chunks) against the table of the same thinned
    draws read directly from posterior.nc, in chunks of 7 draws (the last padded), and
    against the draws read lazily in blocks of 11 (one straddles the chains): identical."""
    settings = PPCSettings(draws=60, bins=4)
    path = analysis_fits["rw_dual"]
    default = run_ppc(path, analysis_fits["trials"], tmp_path / "ppc.parquet", settings, seed=1)
    fit = load_fit(path)
    rows = aligned_trials(fit.data, read_trials(analysis_fits["trials"]))
    posterior = az.from_netcdf(str(path)).posterior
    kept = np.linspace(0, posterior.sizes["draw"] - 1, 30).round().astype(int)  # 30 per chain
    draws = {p: posterior[p].values[:, kept].reshape(60, -1) for p in fit.model.param_names}
    cells = fit.data.n_participants * fit.data.n_trials * fit.data.n_options  # one draw's
    # XLA's float32 probabilities may differ by an ulp between batch sizes, which would
    # move a choice only where a uniform lies that close to a CDF boundary: none does here
    whole = predicted_choices(fit.model, fit.data, draws, seed=1)
    chunked = predicted_choices(fit.model, fit.data, draws, seed=1, budget=7 * cells)
    np.testing.assert_array_equal(chunked, whole)
    small = ppc_table(fit.model, fit.data, rows, draws, settings, seed=1, budget=7 * cells)
    lazy = PosteriorDraws(fit, 60, budget=11 * fit.data.n_participants * 3)
    assert lazy.n_draws == 60 and lazy.block == 11
    blocks = ppc_table(fit.model, fit.data, rows, lazy, settings, seed=1, budget=7 * cells)
    pd.testing.assert_frame_equal(small, default, check_exact=True)
    pd.testing.assert_frame_equal(blocks, default, check_exact=True)
    assert default["predicted_low"].notna().all()
