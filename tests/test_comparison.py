"""The model comparison table against ArviZ, hand computations and plain NumPy."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from cogfit.bms import random_effects_bms
from cogfit.comparison import (
    PARTICIPANT_COLUMNS,
    TABLE_COLUMNS,
    compare_models,
    run_compare,
    stacking_weights,
)
from cogfit.errors import DataError
from cogfit.names import OBSERVED

GROUPS = ("control", "patient")


def marginal(
    log_lik: np.ndarray,
    model: str,
    participants: Sequence[str] | None = None,
    method: str = "psis",
    fold: int = -1,
    scored: np.ndarray | None = None,
    seed: int = 0,
    groups: Sequence[str] = GROUPS,
) -> az.InferenceData:
    """A marginal-shaped InferenceData (as :func:`cogfit.marginal.marginal_idata` writes
    it, plus a group index): group draws, ``log_likelihood.choice`` [chain, draw,
    participant] as given, ``is_ess``, ``scored``, and the attributes on every group."""
    chains, draws, n = log_lik.shape
    rng = np.random.default_rng(seed)
    participants = list(participants or [f"s{i:02d}" for i in range(n)])
    per_participant = ["participant"]
    idata = az.from_dict(
        posterior={
            "alpha_mu": rng.normal(size=(chains, draws, len(groups))),
            "alpha_sigma": np.abs(rng.normal(size=(chains, draws, len(groups)))),
        },
        log_likelihood={OBSERVED: log_lik},
        constant_data={
            "is_ess": np.linspace(20.0, 90.0, n) + seed,
            "scored": np.ones(n, bool) if scored is None else scored,
            "group_index": np.arange(n) % len(groups),
        },
        coords={"participant": participants, "group": list(groups)},
        dims={
            "alpha_mu": ["group"],
            "alpha_sigma": ["group"],
            OBSERVED: per_participant,
            "is_ess": per_participant,
            "scored": per_participant,
            "group_index": per_participant,
        },
    )
    set_attrs(idata, model=model, dataset="d", method=method, fold=fold)
    return idata


def set_attrs(idata: az.InferenceData, **attrs: object) -> None:
    """Attributes on every group, as the marginal stage records them."""
    for group in ("posterior", "log_likelihood", "constant_data"):
        getattr(idata, group).attrs.update(attrs)


def psis_files(n: int = 10, seed: int = 1) -> dict[str, list[az.InferenceData]]:
    """Three models' psis files; participants' log-likelihood spreads vary, so their
    Pareto k spread over the bands."""
    rng = np.random.default_rng(seed)
    spread = np.linspace(0.2, 4.0, n)
    files = {}
    for k, (model, shift) in enumerate([("rw", -1.0), ("rw_dual", 0.0), ("rw_persev", -0.4)]):
        log_lik = -40.0 + shift + rng.normal(size=(2, 200, n)) * spread
        files[model] = [marginal(log_lik, model, seed=k)]
    return files


def test_psis_numbers_are_arviz_loo() -> None:
    files = psis_files()
    table, participants = compare_models(files)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(participants.columns) == list(PARTICIPANT_COLUMNS)
    for model, (idata,) in files.items():
        loo = az.loo(idata, pointwise=True)
        row = table.set_index("model").loc[model]
        assert row["elpd"] == pytest.approx(loo["elpd_loo"], rel=1e-12)
        assert row["se"] == pytest.approx(loo["se"], rel=1e-12)
        assert row["p_eff"] == pytest.approx(loo["p_loo"], rel=1e-12)
        k = loo["pareto_k"].values
        assert row["pareto_k_max"] == pytest.approx(k.max())
        assert row["k_good"] == sum(x <= 0.7 for x in k)
        assert row["k_bad"] == sum(0.7 < x <= 1.0 for x in k)
        assert row["k_very_bad"] == sum(x > 1.0 for x in k)
        assert row["k_warning"] == any(x > 0.7 for x in k)
        assert row["method"] == "psis" and row["n_participants"] == 10
        assert row["is_ess_min"] == pytest.approx(idata.constant_data["is_ess"].min())
        rows = participants[participants["model"] == model]
        assert rows["elpd"].to_numpy() == pytest.approx(loo["loo_i"].values, rel=1e-12)
        assert rows["pareto_k"].to_numpy() == pytest.approx(k)
        assert list(rows["participant"]) == [f"s{i:02d}" for i in range(10)]
        assert list(rows["group"]) == [GROUPS[i % 2] for i in range(10)]
    assert table["k_good"].sum() > 0 and (table["k_bad"] + table["k_very_bad"]).sum() > 0


def test_kfold_elpd_is_the_log_mean_of_the_held_out_likelihood() -> None:
    # 4 participants, 2 folds, 2 chains x 2 draws; each fold file scores its held-out two
    # (the others NaN, as the marginal stage leaves them)
    held_out = {0: [0, 1], 1: [2, 3]}
    probabilities = {
        0: [0.1, 0.2, 0.3, 0.4],  # mean 0.25
        1: [0.5, 0.5, 0.5, 0.5],  # mean 0.5
        2: [0.2, 0.2, 0.6, 0.2],  # mean 0.3
        3: [0.01, 0.03, 0.05, 0.07],  # mean 0.04
    }
    files = []
    for fold, members in held_out.items():
        log_lik = np.full((2, 2, 4), np.nan)
        for p in members:
            log_lik[:, :, p] = np.log(probabilities[p]).reshape(2, 2)
        scored = np.isin(np.arange(4), members)
        files.append(marginal(log_lik, "rw", method="kfold", fold=fold, scored=scored, seed=fold))
    table, participants = compare_models({"rw": files})
    expected = np.log([0.25, 0.5, 0.3, 0.04])
    assert participants["elpd"].to_numpy() == pytest.approx(expected, rel=1e-12)
    row = table.iloc[0]
    assert row["elpd"] == pytest.approx(expected.sum(), rel=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(4 * np.var(expected)), rel=1e-12)
    assert row["method"] == "kfold" and np.isnan(row["p_eff"]) and np.isnan(row["pareto_k_max"])
    assert (row["k_good"], row["k_bad"], row["k_very_bad"], row["k_warning"]) == (0, 0, 0, False)
    assert participants["pareto_k"].isna().all()
    # each participant's ESS is the one of the fold that scored them
    ess = [files[0].constant_data["is_ess"].values[p] for p in (0, 1)]
    ess += [files[1].constant_data["is_ess"].values[p] for p in (2, 3)]
    assert participants["is_ess"].to_numpy() == pytest.approx(ess)


def test_kfold_needs_every_participant_held_out_once() -> None:
    log_lik = np.zeros((1, 3, 4))
    first = marginal(log_lik, "rw", method="kfold", fold=0, scored=np.array([1, 1, 0, 0], bool))
    again = marginal(log_lik, "rw", method="kfold", fold=1, scored=np.array([0, 1, 1, 0], bool))
    with pytest.raises(DataError, match=r"participant\(s\) \['s01', 's03'\]"):
        compare_models({"rw": [first, again]})


def test_differences_and_their_se_from_the_pointwise_values() -> None:
    files = psis_files(n=12, seed=3)
    table, participants = compare_models(files)
    pointwise = {m: participants.loc[participants["model"] == m, "elpd"].to_numpy() for m in files}
    totals = {m: v.sum() for m, v in pointwise.items()}
    best = max(totals, key=totals.get)
    assert table["model"].iloc[0] == best
    assert list(table["elpd"]) == sorted(table["elpd"], reverse=True)
    assert list(table["rank"]) == [0, 1, 2]
    for row in table.itertuples():
        diff = pointwise[best] - pointwise[row.model]
        assert row.elpd_diff == pytest.approx(diff.sum(), abs=1e-10)
        assert row.diff_se == pytest.approx(np.sqrt(diff.size * np.var(diff)), abs=1e-10)
    # ArviZ's own comparison of the same files gives the same differences and weights
    compared = az.compare({m: f[0] for m, f in files.items()}, method="stacking")
    for row in table.itertuples():
        assert row.elpd_diff == pytest.approx(compared.loc[row.model, "elpd_diff"], abs=1e-9)
        assert row.diff_se == pytest.approx(compared.loc[row.model, "dse"], abs=1e-9)
        assert row.weight == pytest.approx(compared.loc[row.model, "weight"], abs=1e-5)
    assert table["weight"].sum() == pytest.approx(1.0)


def test_stacking_weights_of_decisive_participants_are_their_shares() -> None:
    # each participant far better predicted by one model: sum_i log(sum_k w_k e^{l_ik})
    # is then n_a log w_a + n_b log w_b, maximised at w = (n_a, n_b) / N
    n_a, n_b = 3, 9
    lme = np.full((n_a + n_b, 2), -2000.0)  # ArviZ alone would underflow exp(-2000) to 0
    lme[:n_a, 1] -= 60.0
    lme[n_a:, 0] -= 60.0
    weights = stacking_weights(lme, ["a", "b"])
    assert weights == pytest.approx([n_a / 12, n_b / 12], abs=1e-3)  # ArviZ's SLSQP tolerance


def test_bms_columns_are_the_bms_of_the_pointwise_elpd() -> None:
    table, participants = compare_models(psis_files(n=14, seed=5))
    models = list(psis_files(n=2))  # the models in the order they were given
    lme = np.column_stack(
        [participants.loc[participants["model"] == m, "elpd"].to_numpy() for m in models]
    )
    bms = random_effects_bms(lme)
    for k, model in enumerate(models):
        row = table.set_index("model").loc[model]
        assert row["bms_frequency"] == pytest.approx(bms.frequency[k], rel=1e-10)
        assert row["bms_xp"] == pytest.approx(bms.xp[k], abs=1e-10)
        assert row["bms_pxp"] == pytest.approx(bms.pxp[k], abs=1e-10)
        assert row["bms_bor"] == pytest.approx(bms.bor, rel=1e-10)
        assert row["n_best"] == int(np.sum(np.argmax(bms.g, axis=1) == k))
        rows = participants[participants["model"] == model]
        assert rows["bms_probability"].to_numpy() == pytest.approx(bms.g[:, k], rel=1e-10)
        assert list(rows["best"]) == list(np.argmax(bms.g, axis=1) == k)
    assert table["n_best"].sum() == 14


def test_participants_must_match_across_models() -> None:
    files = psis_files(n=6)
    labels = [f"s{i:02d}" for i in range(6)]
    (rw_dual,) = files["rw_dual"]
    files["rw_dual"] = [
        marginal(rw_dual.log_likelihood[OBSERVED].values, "rw_dual", labels[::-1], seed=1)
    ]
    with pytest.raises(DataError, match="model 'rw_dual' score other participants") as error:
        compare_models(files)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model": "rw_dual"}, "given for model 'rw' was computed for 'rw_dual'"),
        ({"method": "kfold"}, "model 'rw_dual' was scored by psis, 'rw' by kfold"),
        ({"method": "loo"}, "expected one of"),
    ],
)
def test_files_of_another_model_or_method_are_refused(change: dict, expected: str) -> None:
    files = psis_files(n=4)
    set_attrs(files["rw"][0], **change)
    with pytest.raises(DataError, match=expected):
        compare_models(files)


def test_psis_takes_one_file_per_model() -> None:
    files = psis_files(n=4)
    with pytest.raises(DataError, match="one marginal file per model; got 2 for 'rw'"):
        compare_models({"rw": files["rw"] * 2})


def test_one_model_is_a_table_of_one_row() -> None:
    files = psis_files(n=5)
    table, participants = compare_models({"rw": files["rw"]})
    assert len(table) == 1 and len(participants) == 5
    row = table.iloc[0]
    assert (row["rank"], row["elpd_diff"], row["diff_se"], row["weight"]) == (0, 0.0, 0.0, 1.0)
    assert (row["bms_frequency"], row["bms_xp"], row["bms_pxp"]) == (1.0, 1.0, 1.0)
    assert np.isnan(row["bms_bor"]) and row["n_best"] == 5
    assert participants["best"].all() and (participants["bms_probability"] == 1.0).all()


def test_run_compare_writes_both_tables_and_warns_of_high_k(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = {}
    for model, (idata,) in psis_files(n=8).items():
        paths[model] = [tmp_path / f"{model}.nc"]
        idata.to_netcdf(str(paths[model][0]))
    out, out_participants = tmp_path / "cmp.parquet", tmp_path / "cmp_participants.parquet"
    with caplog.at_level(logging.INFO, logger="cogfit.comparison"):
        table = run_compare(paths, out, out_participants)
    pd.testing.assert_frame_equal(pd.read_parquet(out), table)
    written = pd.read_parquet(out_participants)
    assert len(written) == 8 * 3 and list(written.columns) == list(PARTICIPANT_COLUMNS)
    assert table["k_warning"].any()
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "compare.method: kfold" in warning[0]
    for row in table[table["k_warning"]].itertuples():
        assert f"{row.model} ({row.k_bad + row.k_very_bad})" in warning[0]
    assert any("model comparison (psis, 8 participants)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("groups", "expected"), [(("all",), "all"), (GROUPS, None)])
def test_groups_without_an_index(groups: tuple[str, ...], expected: str | None) -> None:
    idata = marginal(np.zeros((1, 5, 3)), "rw", groups=groups)
    del idata.constant_data["group_index"]
    _, participants = compare_models({"rw": [idata]})
    assert list(participants["group"]) == [expected] * 3


def test_verdict_names_what_the_differences_resolve() -> None:
    """Beyond 2 SE of the difference a model is worse; within, not told apart."""
    from cogfit.comparison import verdict

    table = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "rank": [0, 1, 2],
            "elpd_diff": [0.0, 1.0, 9.0],
            "diff_se": [0.0, 2.0, 3.0],
        }
    )
    text = verdict(table)
    assert text.startswith("a predicts new participants best and is clearly better than c")
    assert "c (by 9.0 ± 3.0)" in text and "b (1.0 ± 2.0) is within 2 SE" in text
    assert "but" not in verdict(table.iloc[[0, 2]])
    assert "clearly" not in verdict(table.iloc[[0, 1]])
    assert "nothing to compare" in verdict(table.iloc[[0]])
