"""Task-general trial columns: cleaning validates every column the dataset's models declare,
by kind, with one line per problem; the config check refuses unmapped and unread columns
before any job; the padded arrays carry each column and its own mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cogfit.clean import CleaningSpec, clean
from cogfit.columns import declared_columns
from cogfit.config import check_config, dataset_columns
from cogfit.data import task_data_from_trials
from cogfit.errors import ConfigError, DataError
from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec
from cogfit.names import VALID, observed_key

#: a task with one of every kind: a cue code, a pair code listed by value, two responses
#: (the second may be empty), a binary response, a real input that may be empty
DECLARED = (
    ColumnSpec("choice1", "option", "first choice", response=True, levels=2),
    ColumnSpec("choice2", "option", "second choice", response=True, missing=True, levels=4),
    ColumnSpec("go", "binary", "pressed", response=True),
    ColumnSpec("cue", "code", "cue", levels=3),
    ColumnSpec("pair", "code", "stimulus pair", values=(12, 34, 56)),
    ColumnSpec("reward", "real", "reward", missing=True),
    ColumnSpec("cost", "real", "cost"),
)
MAPPING = {"participant": "id", "trial": "t", **{c.name: c.name.upper() for c in DECLARED}}
HEADER = "id,t,CHOICE1,CHOICE2,GO,CUE,PAIR,REWARD,COST"
ROWS = [
    "a,1,1,3,1,1,12,1,0.5",
    "a,2,2,,0,2,34,,0.25",  # no second choice, no reward: the trial still counts
    "a,3,,,0,3,56,,",  # no first choice: missed, nothing else is needed
    "b,1,2,5,1,1,56,0,1",
]


def spec(path: Path, **changes: object) -> CleaningSpec:
    settings: dict = {
        "path": str(path),
        "format": "csv",
        "columns": MAPPING,
        "n_options": 2,
        "choice_base": 1,
        "missing_codes": ("NA",),
        "min_trials": 1,
        "max_missing_fraction": 1.0,
        "exclude_participants": (),
        "declared": DECLARED,
        "column_bases": {"choice2": 2},
        "scale": {"cost": 2.0},
    }
    settings.update(changes)
    return CleaningSpec(**settings)


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "task.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def error_of(cleaning: CleaningSpec) -> str:
    with pytest.raises(DataError) as info:
        clean(cleaning)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_every_kind_is_cleaned_to_its_coding(tmp_path: Path) -> None:
    trials, _ = clean(spec(write(tmp_path, ROWS)))
    a = trials[trials["participant"] == "a"].reset_index(drop=True)
    assert list(trials.columns) == [
        "participant",
        "group",
        "trial",
        *(c.name for c in DECLARED),
        "missed",
    ]
    assert a["choice1"].tolist()[:2] == [0, 1]  # 1-based in the file
    assert a["choice2"].tolist()[0] == 1 and pd.isna(a["choice2"][1])  # base 2: 3 -> 1
    assert a["cue"].tolist()[:2] == [0, 1]  # numbered codes 0-based
    assert a["pair"].tolist()[:2] == [12, 34]  # listed codes kept as they are
    assert a["cost"].tolist()[:2] == [1.0, 0.5]  # scaled by 2
    assert a["missed"].tolist() == [False, False, True]
    assert pd.isna(a["cost"][2]) and pd.isna(a["cue"][2])  # ignored on the missed trial


def test_task_data_carries_each_column_and_its_mask(tmp_path: Path) -> None:
    trials, _ = clean(spec(write(tmp_path, ROWS)))
    data = task_data_from_trials(trials, 2)
    assert data.columns == tuple(c.name for c in DECLARED)
    np.testing.assert_array_equal(data.trials[VALID], [[True, True, False], [True, False, False]])
    np.testing.assert_array_equal(
        data.trials[observed_key("choice2")], [[True, False, False], [True, False, False]]
    )
    np.testing.assert_array_equal(data.trials["choice2"], [[1, 0, 0], [3, 0, 0]])
    assert data.trials["cost"].dtype == np.float64 and data.trials["pair"].dtype == np.int32
    np.testing.assert_allclose(data.trials["cost"], [[1.0, 0.5, 0.0], [2.0, 0.0, 0.0]])


def test_block_starts_mark_each_new_block(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "participant": ["a"] * 5 + ["b"] * 2,
            "group": "all",
            "trial": [1, 2, 3, 4, 5, 1, 2],
            "choice": pd.array([0, 1, None, 0, 1, 1, 0], dtype="Int64"),
            "outcome": [1.0, 0.0, np.nan, 1.0, 0.0, 1.0, 1.0],
            "missed": [False, False, True, False, False, False, False],
            "block": [1, 1, 2, 2, 3, 7, 7],
        }
    )
    data = task_data_from_trials(table, 2)
    expected = [[False, False, True, False, True], [False] * 5]
    np.testing.assert_array_equal(data.block_start, expected)  # a missed trial starts one too


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ("a,1,3,3,1,1,12,1,0.5", ["column 'CHOICE1' (cogfit 'choice1')", "choice1 '3'", "1..2"]),
        ("a,1,1,6,1,1,12,1,0.5", ["choice2 '6' is outside the options", "column_bases.choice2"]),
        ("a,1,1,3,2,1,12,1,0.5", ["go '2' is outside the values 0 and 1", "0 or 1"]),
        ("a,1,1,3,1,4,12,1,0.5", ["cue '4' is outside the codes", "1..3 (3 codes"]),
        ("a,1,1,3,1,1,13,1,0.5", ["pair '13' is outside the codes", "one of 12, 34, 56"]),
        ("a,1,1,3,1,1,12,x,0.5", ["reward 'x' is not a number"]),
        ("a,1,1,3,1,1,12,1,", ["missing cost", "on a trial with a response"]),
        ("a,1,1,3,x,1,12,1,0.5", ["go 'x' is not an integer", "or a missing code ['NA']"]),
    ],
)
def test_a_bad_cell_names_line_column_value_and_expectation(
    tmp_path: Path, row: str, fragments: list[str]
) -> None:
    message = error_of(spec(write(tmp_path, [row, *ROWS[1:]])))
    assert "task.csv, line 2" in message
    for fragment in fragments:
        assert fragment in message, message


def test_an_empty_required_response_is_a_missed_trial(tmp_path: Path) -> None:
    rows = ["a,1,1,3,NA,1,12,1,0.5", *ROWS[1:]]  # NA: a missing code of a response
    trials, summary = clean(spec(write(tmp_path, rows)))
    assert trials.loc[0, "missed"] and pd.isna(trials.loc[0, "choice1"])
    assert summary.set_index("participant").loc["a", "n_missed"] == 2
    # p_best judges the first option response by the payoff (here: reward)
    assert summary.set_index("participant").loc["b", "p_best"] == 1.0


def test_a_declared_column_must_be_mapped(tmp_path: Path) -> None:
    mapping = {k: v for k, v in MAPPING.items() if k != "cue"}
    with pytest.raises(ConfigError, match=r"no raw column for \['cue'\]"):
        spec(write(tmp_path, ROWS), columns=mapping)


# --------------------------------------------------------------------------- config check


def example_config(**dataset: object) -> dict:
    ds = {
        "path": "data/example/bandit.csv",
        "columns": {"participant": "s", "trial": "t", "choice": "c", "outcome": "o"},
        "models": ["rw"],
        **dataset,
    }
    return {"datasets": {"demo": ds}, "sampler": {}}


def config_error(cfg: dict) -> str:
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_an_unmapped_declared_column_fails_before_any_job() -> None:
    cfg = example_config(columns={"participant": "s", "choice": "c"})
    message = config_error(cfg)
    assert message.startswith("config key datasets.demo.columns: no raw column for 'outcome'")
    assert "rw read(s)" in message and "add outcome: <raw column name>" in message


def test_a_mapped_column_no_model_reads_fails() -> None:
    columns = {"participant": "s", "choice": "c", "outcome": "o", "outcomes": "o2"}
    message = config_error(example_config(columns=columns))
    assert message.startswith("config key datasets.demo.columns.outcomes: no model")
    assert "['choice', 'outcome']" in message


@pytest.mark.parametrize(
    ("setting", "value", "fragment"),
    [
        ("column_bases", {"outcome": 1}, "datasets.demo.column_bases.outcome"),
        ("scale", {"choice": 0.5}, "datasets.demo.scale.choice"),
    ],
)
def test_per_column_settings_name_columns_they_apply_to(
    setting: str, value: dict, fragment: str
) -> None:
    assert fragment in config_error(example_config(**{setting: value}))


def test_two_models_meaning_different_things_by_one_column() -> None:
    def model(name: str, column: ColumnSpec) -> ModelSpec:
        params = (ParamSpec("a", "probit"),)
        return ModelSpec(name, "", "", params, (), False, "", columns=(column,))

    first = model("m1", ColumnSpec("choice", "option", "an option", response=True))
    second = model("m2", ColumnSpec("choice", "binary", "yes or no", response=True))
    with pytest.raises(ConfigError, match="m1 and m2 both read a column 'choice'"):
        declared_columns("demo", [first, second])


def test_the_dataset_columns_are_the_models_declared_ones() -> None:
    ds = example_config()["datasets"]["demo"]
    assert [c.name for c in dataset_columns("demo", ds)] == ["choice", "outcome"]


def test_p_best_needs_an_option_response_and_a_payoff(tmp_path: Path) -> None:
    declared = (
        ColumnSpec("gamble", "binary", "gambled", response=True),
        ColumnSpec("cert", "real", "the sure amount"),
    )
    path = tmp_path / "ra.csv"
    path.write_text("id,gamble,cert\na,1,2\na,0,3\n", encoding="utf-8")
    mapping = {"participant": "id", "gamble": "gamble", "cert": "cert"}
    _, summary = clean(spec(path, columns=mapping, declared=declared, column_bases={}, scale={}))
    assert summary["p_best"].isna().all() and summary["n_trials"].tolist() == [2]


def test_block_reset_always_needs_a_block_column() -> None:
    message = config_error(example_config(block_reset="always"))
    assert message.startswith("config key datasets.demo.block_reset: 'always'")
    columns = {"participant": "s", "choice": "c", "outcome": "o", "block": "b"}
    check_config(example_config(block_reset="always", columns=columns))
