"""Trial-wise regressors against a plain NumPy loop over trials written from the delta rule."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from cogfit.data import TaskData, task_data_from_trials
from cogfit.errors import DataError
from cogfit.fitted import aligned_trials, load_fit, read_trials
from cogfit.regressors import (
    ESTIMATES,
    RegressorSettings,
    median_parameter,
    regressor_table,
    run_regressors,
)
from cogfit.settings import settings_from_section
from cogfit.simulate import (
    MODEL_PARAMS,
    choice_probabilities,
    reversal_schedule,
    simulate_bandit,
    standard_params,
    update_last_choice,
    update_values,
)
from cogfit.trialwise import PosteriorDraws

K = 3


def delta_rule_loop(
    model: str,
    params: dict[str, np.ndarray],
    choices: np.ndarray,
    outcomes: np.ndarray,
    mask: np.ndarray,
    n_options: int,
) -> dict[str, np.ndarray]:
    """The delta-rule quantities before every trial along the observed history, float64:
    ``probs`` [N, T, K], ``value`` [N, T, K], ``value_chosen`` and ``prediction_error``
    [N, T]; ``params`` [N] each (any rows: participants, or draws x participants)."""
    alpha_pos, alpha_neg, beta, kappa = standard_params(model, params)
    n, n_trials = choices.shape
    values, last = np.zeros((n, n_options)), np.zeros((n, n_options))
    out = {
        "probs": np.zeros((n, n_trials, n_options)),
        "value": np.zeros((n, n_trials, n_options)),
        "value_chosen": np.zeros((n, n_trials)),
        "prediction_error": np.zeros((n, n_trials)),
    }
    rows = np.arange(n)
    for t in range(n_trials):
        out["probs"][:, t] = choice_probabilities(values, last, beta, kappa)
        out["value"][:, t] = values
        out["value_chosen"][:, t] = values[rows, choices[:, t]]
        out["prediction_error"][:, t] = outcomes[:, t] - values[rows, choices[:, t]]
        values = update_values(
            values, choices[:, t], outcomes[:, t], mask[:, t], alpha_pos, alpha_neg
        )
        last = update_last_choice(last, choices[:, t], mask[:, t])
    return out


def random_draws(model: str, n_draws: int, n_participants: int, seed: int) -> dict:
    """Parameter draws [D, P] in their natural ranges."""
    rng = np.random.default_rng(seed)
    shape = (n_draws, n_participants)
    ranges = {"alpha": (0.05, 0.95), "alpha_pos": (0.3, 0.9), "alpha_neg": (0.05, 0.4)}
    ranges |= {"beta": (0.5, 6.0), "kappa": (-1.0, 1.5)}
    return {p: rng.uniform(*ranges[p], shape) for p in MODEL_PARAMS[model]}


def cleaned_trials(seed: int = 3) -> pd.DataFrame:
    """A cleaned table: participants out of sorted order, unequal trial counts, missed trials,
    raw trial numbers with gaps, two blocks."""
    rng = np.random.default_rng(seed)
    params = {"alpha": np.array([0.4, 0.7, 0.2]), "beta": np.array([3.0, 5.0, 1.0])}
    choices, outcomes, valid = simulate_bandit(
        "rw", params, reversal_schedule(14, 0.8, 7, K), rng, missing_prob=0.15
    )
    frames = []
    for i, (pid, group, n) in enumerate([("z9", "b", 14), ("a10", "a", 11), ("m3", "a", 14)]):
        raw = np.sort(rng.choice(np.arange(1, 60), n, replace=False)) * 3
        frames.append(
            pd.DataFrame(
                {
                    "participant": pid,
                    "group": group,
                    "trial": raw,
                    "choice": pd.array(np.where(valid[i, :n], choices[i, :n], -1), "Int64"),
                    "outcome": outcomes[i, :n],
                    "missed": ~valid[i, :n],
                    "block": np.where(np.arange(n) < 7, 1, 2),
                }
            )
        )
    trials = pd.concat(frames, ignore_index=True)
    trials.loc[trials["missed"], "choice"] = pd.NA
    return trials


@pytest.mark.parametrize("model_name", ["rw", "rw_dual", "rw_persev"])
def test_regressors_equal_the_numpy_loop(model_name: str) -> None:
    from cogfit.models import get_model

    trials = cleaned_trials()
    data = task_data_from_trials(trials, K)
    rows = aligned_trials(data, trials)
    draws = random_draws(model_name, 5, data.n_participants, seed=8)
    # 4 draws per chunk: the 5 draws and the median parameters in two, the last one padded
    budget = 4 * data.n_participants * data.n_trials * (2 * K + 2)
    table = regressor_table(get_model(model_name), data, rows, draws, budget=budget)

    n_draws, n_p = draws["beta"].shape
    flat = {k: v.reshape(-1) for k, v in draws.items()}
    tile = (n_draws, 1)
    loop = delta_rule_loop(
        model_name,
        flat,
        np.tile(data.trials["choice"], tile),
        np.tile(data.trials["outcome"], tile),
        np.tile(data.mask, tile),
        K,
    )
    mean = {k: v.reshape(n_draws, n_p, *v.shape[1:]).mean(axis=0) for k, v in loop.items()}
    median = {k: np.median(v, axis=0) for k, v in draws.items()}
    choices, outcomes = data.trials["choice"], data.trials["outcome"]
    at_median = delta_rule_loop(model_name, median, choices, outcomes, data.mask, K)

    order = trials.sort_values(["participant", "trial"]).reset_index(drop=True)
    for estimate, expected in (("posterior_mean", mean), ("median_parameters", at_median)):
        got = table[table["estimate"] == estimate].reset_index(drop=True)
        assert list(got["participant"]) == list(order["participant"])
        assert list(got["trial"]) == list(order["trial"])  # raw numbers, gaps kept
        assert list(got["group"]) == list(order["group"])
        assert got["choice"].equals(order["choice"]) and list(got["block"]) == list(order["block"])
        check_rows(got, expected, data)


def check_rows(got: pd.DataFrame, expected: dict[str, np.ndarray], data: TaskData) -> None:
    """Every row equals the loop's value at its participant and trial position; latents and
    p_choice NaN on missed trials, the option probabilities kept."""
    r = got["participant"].map({p: i for i, p in enumerate(data.participants)}).to_numpy()
    c = got.groupby("participant", sort=False).cumcount().to_numpy()
    missed = got["missed"].to_numpy(dtype=bool)
    tol = {"rtol": 2e-5, "atol": 2e-6}  # float32 JAX against the float64 loop
    for k in range(data.n_options):
        np.testing.assert_allclose(got[f"p_option_{k}"], expected["probs"][r, c, k], **tol)
        value = np.where(missed, np.nan, expected["value"][r, c, k])
        np.testing.assert_allclose(got[f"value_{k}"], value, **tol)
    for name in ("value_chosen", "prediction_error"):
        np.testing.assert_allclose(got[name], np.where(missed, np.nan, expected[name][r, c]), **tol)
    chosen = np.where(missed, 0, got["choice"].to_numpy(dtype=float, na_value=0)).astype(int)
    p_choice = np.where(missed, np.nan, expected["probs"][r, c, chosen])
    np.testing.assert_allclose(got["p_choice"], p_choice, **tol)
    assert missed.any() and got.loc[missed, "p_option_0"].notna().all()


def test_a_table_the_fit_was_not_made_from_is_refused() -> None:
    trials = cleaned_trials()
    data = task_data_from_trials(trials, K)
    with pytest.raises(DataError, match=r"t\.parquet: participants differ.*only in the fit"):
        aligned_trials(data, trials[trials["participant"] != "m3"], "t.parquet")
    changed = trials.copy()
    first_valid = changed.index[~changed["missed"] & (changed["participant"] == "m3")][0]
    changed.loc[first_valid, "choice"] = (changed.loc[first_valid, "choice"] + 1) % K
    with pytest.raises(DataError, match="participant 'm3'"):
        aligned_trials(data, changed, "t.parquet")
    # a dropped valid trial; a dropped trailing MISSED trial cannot be told from padding
    last_valid = trials.index[(trials["participant"] == "a10") & ~trials["missed"]][-1]
    shorter = trials.drop(index=last_valid)
    with pytest.raises(DataError, match="participant 'a10'"):
        aligned_trials(data, shorter, "t.parquet")
    regrouped = trials.assign(group=np.where(trials["participant"] == "z9", "a", trials["group"]))
    with pytest.raises(DataError, match="participant 'z9' is in group 'a'"):
        aligned_trials(data, regrouped, "t.parquet")


def test_settings_defaults_are_the_schemas() -> None:
    assert settings_from_section(RegressorSettings, "regressors", {}) == RegressorSettings()


def test_run_regressors_end_to_end(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "regressors.parquet"
    # draws above the fit's 2 x 250: every draw, so the median is over all of them
    run_regressors(analysis_fits["rw"], analysis_fits["trials"], out, RegressorSettings(1000))
    table = pd.read_parquet(out)
    trials = pd.read_parquet(analysis_fits["trials"])
    assert len(table) == 2 * len(trials) and list(table["estimate"].unique()) == list(ESTIMATES)
    expected = [
        *("participant", "group", "trial", "block", "choice", "outcome", "missed", "estimate"),
        *("value_0", "value_1", "value_chosen", "prediction_error", "p_choice"),
        *("p_option_0", "p_option_1"),
    ]
    assert list(table.columns) == expected
    median = table[table["estimate"] == "median_parameters"].reset_index(drop=True)
    assert list(median["trial"]) == list(trials["trial"])

    posterior = az.from_netcdf(str(analysis_fits["rw"])).posterior
    params = {p: np.median(posterior[p].values.reshape(-1, 16), axis=0) for p in ("alpha", "beta")}
    data = task_data_from_trials(trials, 2)
    assert list(posterior.coords["participant"].values) == list(data.participants)
    loop = delta_rule_loop(
        "rw", params, data.trials["choice"], data.trials["outcome"], data.mask, 2
    )
    check_rows(median, loop, data)


def test_results_do_not_depend_on_the_chunks(
    analysis_fits: dict[str, Path], tmp_path: Path
) -> None:
    """run_regressors (every draw, read lazily, default chunks) against the draws read in
    blocks of 11 (one straddles the chains), chunks of 7 draws (the median draw in a
    padded last one) and medians over blocks of 15 participants; the medians equal
    numpy's over the draws read directly from posterior.nc, exactly. XLA's float32 exp
    and log may differ by an ulp between batch sizes, so the probabilities by rounding."""
    path, trials = analysis_fits["rw"], analysis_fits["trials"]
    default = run_regressors(path, trials, tmp_path / "r.parquet", RegressorSettings(1000))
    fit = load_fit(path)
    lazy = PosteriorDraws(fit, 1000, budget=11 * fit.data.n_participants * 2)
    assert lazy.n_draws == 500 and lazy.block == 11
    cells = fit.data.n_participants * fit.data.n_trials * (2 * fit.data.n_options + 2)
    rows = aligned_trials(fit.data, read_trials(trials))
    small = regressor_table(fit.model, fit.data, rows, lazy, budget=7 * cells)
    pd.testing.assert_frame_equal(small, default, check_exact=False, rtol=1e-6, atol=0)
    posterior = az.from_netcdf(str(path)).posterior
    for name in fit.model.param_names:
        expected = np.median(posterior[name].values.reshape(500, -1).astype(float), axis=0)
        np.testing.assert_array_equal(median_parameter(lazy, name, budget=15 * 500), expected)
