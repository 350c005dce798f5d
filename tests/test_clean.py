"""Cleaning: every bad input fails with one precise line; the example file cleans as designed."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cogfit.clean import CleaningSpec, clean, p_best, read_raw, run_clean
from cogfit.data import task_data_from_trials
from cogfit.errors import ConfigError, DataError

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example" / "bandit.csv"
HEADER = "subject,condition,trial_no,response,reward,rt_ms"
GOOD_ROWS = [
    "s1,a,1,1,1,300",
    "s1,a,2,2,0,310",
    "s1,a,3,1,1,320",
    "s2,b,1,2,1,330",
    "s2,b,2,2,0,340",
    "s2,b,3,1,0,350",
]


def config(path: Path | str, **changes: object) -> dict:
    """A dataset config section as the schema would deliver it."""
    cfg = {
        "path": str(path),
        "format": "auto",
        "columns": {
            "participant": "subject",
            "group": "condition",
            "trial": "trial_no",
            "choice": "response",
            "outcome": "reward",
        },
        "n_options": 2,
        "choice_base": 1,
        "missing_codes": ["-1", "NA", "timeout"],
        "exclude": {"min_trials": 1, "max_missing_fraction": 1.0, "participants": []},
        "models": ["rw"],
    }
    cfg.update(changes)
    return cfg


def spec_for(path: Path, **changes: object) -> CleaningSpec:
    return CleaningSpec.from_config("test", config(path, **changes))


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def with_row(index: int, row: str) -> list[str]:
    """GOOD_ROWS with one row replaced; row ``index`` sits on file line ``index + 2``."""
    rows = list(GOOD_ROWS)
    rows[index] = row
    return rows


def error_of(spec: CleaningSpec) -> str:
    with pytest.raises(DataError) as info:
        clean(spec)
    message = str(info.value)
    assert "\n" not in message
    return message


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- file level


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    message = error_of(spec_for(tmp_path / "nope.csv"))
    assert "nope.csv" in message and "not found" in message


def test_non_utf8_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(f"{HEADER}\ns\xe9,a,1,1,1,3\n".encode("latin-1"))
    message = error_of(spec_for(path))
    assert "latin.csv" in message and "UTF-8" in message


def test_non_utf8_byte_names_row_column_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    rows = [GOOD_ROWS[0], 's1,a,2,2,0,"31\n0"', "s\xe9,a,3,1,1,320"]
    path.write_bytes("\n".join([HEADER, *rows]).encode("latin-1"))
    message = error_of(spec_for(path))
    assert "latin.csv, line 4, column 'subject'" in message  # spreadsheet row; text line 5
    assert "byte 0xE9" in message and "save the file as UTF-8" in message
    assert "byte 3" not in message  # not the old offset into the file


def test_utf16_file_says_utf16(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("\n".join([HEADER, *GOOD_ROWS]).encode("utf-16"))
    message = error_of(spec_for(path))
    assert "wide.csv, line 1" in message and "UTF-16" in message and "UTF-8" in message


def test_utf8_bom_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\n".join([HEADER, *GOOD_ROWS]).encode("utf-8-sig"))
    trials, _ = clean(spec_for(path))
    assert len(trials) == len(GOOD_ROWS)


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    message = error_of(spec_for(path))
    assert "broken.parquet" in message and "Parquet" in message


def test_unknown_suffix_needs_a_format(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS, name="data.xlsx")
    message = error_of(spec_for(path))
    assert "data.xlsx" in message and "'.xlsx'" in message and "format" in message


def test_explicit_format_overrides_suffix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [r.replace(",", "\t") for r in GOOD_ROWS],
        HEADER.replace(",", "\t"),
        name="data.dat",
    )
    trials, _ = clean(spec_for(path, format="tsv"))
    assert len(trials) == len(GOOD_ROWS)


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(2, "s1,a,3,1,1"))))
    assert "bad.csv, line 4" in message and "5 fields" in message and "6" in message


def test_line_numbers_are_spreadsheet_rows(tmp_path: Path) -> None:
    """A blank line is a row; a quoted cell spanning two text lines is one row (README)."""
    rows = [GOOD_ROWS[0], "", 's1,a,2,2,0,"31\n0"', GOOD_ROWS[2], "s2,b,1,x,1,330"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv, line 6," in message and "'x'" in message  # text line 7


def test_field_count_error_names_the_spreadsheet_row(tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], 's1,a,2,2,0,"31\n\n0"', "s1,a,3,1,1"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv, line 4:" in message and "5 fields" in message  # text line 6


def test_csv_error_names_the_spreadsheet_row(tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], 's1,a,2,2,0,"31\n0"', 's1,a,3,1,1,"32"0']
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv, line 4:" in message and "closing quote" in message  # text line 5


def test_unclosed_quote_is_an_error_not_a_swallowed_rest(tmp_path: Path) -> None:
    """Without strict parsing an unclosed quote took every later row into one cell."""
    rows = [GOOD_ROWS[0], 's1,a,2,2,0,"310', *GOOD_ROWS[2:], "s9,a,1,1,1,1"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv, line 3:" in message and "never closed" in message


def test_mapped_column_not_found_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS, header=HEADER.replace("reward", "rwd"))
    message = error_of(spec_for(path))
    assert "bad.csv" in message
    assert "'reward' (cogfit 'outcome')" in message
    assert "available columns" in message and "'rwd'" in message


# --------------------------------------------------------------------------- cell level


def test_empty_participant_id(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(1, ",a,2,2,0,310"))))
    assert "bad.csv, line 3" in message
    assert "column 'subject' (cogfit 'participant')" in message and "empty" in message


@pytest.mark.parametrize("value", ["abc", "2.5", ""])
def test_non_integer_trial(tmp_path: Path, value: str) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(2, f"s1,a,{value},1,1,320"))))
    assert "bad.csv, line 4" in message
    assert "column 'trial_no' (cogfit 'trial')" in message and repr(value) in message


@pytest.mark.parametrize(
    "value", [str(2**53), str(2**53 + 1), "1e20", "99999999999999999999", "-1e16", "1e999999"]
)
def test_trial_number_too_large_is_refused(tmp_path: Path, value: str) -> None:
    """Was stored wrapped (-9223372036854775808) or rounded through float64 and sorted first."""
    message = error_of(spec_for(write(tmp_path, with_row(2, f"s1,a,{value},1,1,320"))))
    assert "bad.csv, line 4, column 'trial_no' (cogfit 'trial')" in message
    assert repr(value) in message and "too large" in message and "2**53" in message


def test_trial_numbers_below_the_limit_stay_exact(tmp_path: Path) -> None:
    """The largest trial numbers allowed come out exactly as written."""
    top = 2**53 - 1
    rows = [f"s1,a,{top},1,1,1", f"s1,a,{top - 1},2,0,1", f"s1,a,-{top},1,0,1"]
    trials, _ = clean(spec_for(write(tmp_path, rows)))
    assert trials["trial"].tolist() == [-top, top - 1, top]


@pytest.mark.parametrize("value", ["1.0000000000000000001", "2.00000000000000001e0"])
def test_nearly_whole_trial_number_is_not_an_integer(tmp_path: Path, value: str) -> None:
    """Through float64 these rounded to whole numbers and were taken silently."""
    message = error_of(spec_for(write(tmp_path, with_row(0, f"s1,a,{value},1,1,300"))))
    assert "bad.csv, line 2" in message and "not an integer" in message


@pytest.mark.parametrize("value", ["1.0000000000000000001", "99999999999999999999"])
def test_nearly_whole_or_huge_choice_is_refused(tmp_path: Path, value: str) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(0, f"s1,a,1,{value},1,300"))))
    assert "bad.csv, line 2, column 'response'" in message and repr(value) in message


def test_parquet_trial_number_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pd.DataFrame(
        {
            "subject": ["s1", "s1"],
            "condition": "a",
            "trial_no": np.array([1, 2**53 + 1], dtype=np.int64),
            "response": [1, 2],
            "reward": [1.0, 0.0],
        }
    ).to_parquet(path)
    message = error_of(spec_for(path))
    assert "big.parquet, row 2" in message and repr(str(2**53 + 1)) in message


@pytest.mark.parametrize("value", ["0x10", "1_000", "inf", "nan", "\u0661"])
def test_trial_text_that_python_reads_as_a_number_is_refused(tmp_path: Path, value: str) -> None:
    """Only plain decimal text is a number ('\u0661' is an Arabic-Indic digit one)."""
    message = error_of(spec_for(write(tmp_path, with_row(0, f"s1,a,{value},1,1,300"))))
    assert "bad.csv, line 2" in message and "not an integer" in message


def test_non_integer_choice(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(3, "s2,b,1,left,1,330"))))
    assert "bad.csv, line 5" in message
    assert "column 'response' (cogfit 'choice')" in message and "'left'" in message
    assert "not an integer" in message and "1..2" in message


@pytest.mark.parametrize("value", ["0", "3"])
def test_choice_outside_options(tmp_path: Path, value: str) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(0, f"s1,a,1,{value},1,300"))))
    assert "bad.csv, line 2" in message and "column 'response'" in message
    assert f"'{value}'" in message and "1..2" in message and "n_options = 2" in message


def test_choice_base_zero_accepts_zero(tmp_path: Path) -> None:
    rows = [r.replace(",a,1,1,", ",a,1,0,") for r in GOOD_ROWS[:1]] + ["s1,a,2,1,0,3"]
    trials, _ = clean(spec_for(write(tmp_path, rows), choice_base=0))
    assert trials["choice"].tolist() == [0, 1]


@pytest.mark.parametrize("code", ["", "NA", "timeout", "-1"])
def test_missing_codes_are_missed_trials(tmp_path: Path, code: str) -> None:
    trials, participants = clean(spec_for(write(tmp_path, with_row(1, f"s1,a,2,{code},,"))))
    row = trials.set_index(["participant", "trial"]).loc[("s1", 2)]
    assert row["missed"] and pd.isna(row["choice"]) and np.isnan(row["outcome"])
    assert participants.set_index("participant").loc["s1", "n_missed"] == 1


def test_outcome_on_missed_trial_is_dropped(tmp_path: Path) -> None:
    trials, _ = clean(spec_for(write(tmp_path, with_row(1, "s1,a,2,timeout,1,"))))
    assert np.isnan(trials.loc[1, "outcome"])


def test_non_numeric_outcome(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(4, "s2,b,2,2,yes,340"))))
    assert "bad.csv, line 6" in message
    assert "column 'reward' (cogfit 'outcome')" in message and "'yes'" in message


def test_outcome_too_large_for_a_float32_fit(tmp_path: Path) -> None:
    """1e39 is finite in float64 but inf in float32: the fit diverged everywhere."""
    path = write(tmp_path, with_row(4, "s2,b,2,2,1e39,340"))
    message = error_of(spec_for(path))
    assert message.endswith(
        "bad.csv, line 6, column 'reward' (cogfit 'outcome'): outcome '1e39' is too large for "
        "a float32 fit (largest 3.4e+38); expected a finite number such as 0 or 1 (rescale them "
        "with the dataset's scale.outcome or set sampler.precision: float64)"
    )
    trials, _ = clean(CleaningSpec.from_config("test", config(path), precision="float64"))
    assert trials["outcome"].max() == 1e39


def test_outcome_too_large_for_a_float64_fit(tmp_path: Path) -> None:
    path = write(tmp_path, with_row(4, "s2,b,2,2,-1e400,340"))
    message = error_of(CleaningSpec.from_config("test", config(path), precision="float64"))
    assert "line 6" in message and "'-1e400' is too large for a float64 fit" in message
    assert "(largest 1.8e+308)" in message and "set sampler.precision" not in message


def test_largest_float32_outcome_passes(tmp_path: Path) -> None:
    largest = float(np.finfo(np.float32).max)
    trials, _ = clean(spec_for(write(tmp_path, with_row(4, f"s2,b,2,2,{largest!r},340"))))
    assert trials["outcome"].max() == largest and np.isfinite(np.float32(largest))


def test_decimal_comma_outcome_gets_a_hint(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(4, 's2,b,2,2,"0,5",340'))))
    assert "line 6" in message and "'0,5' is not a number" in message
    assert "decimal comma? expected a decimal point, e.g. '0.5'" in message


def test_missing_outcome_with_valid_choice(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(2, "s1,a,3,1,,320"))))
    assert "bad.csv, line 4" in message and "column 'reward'" in message
    assert "missing outcome" in message and "trial with a response" in message


def test_further_bad_rows_are_counted(tmp_path: Path) -> None:
    rows = [r.replace("s1,a,", "s1,a,x") for r in GOOD_ROWS]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "line 2" in message and "2 more row(s)" in message


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame(
        {
            "subject": ["s1", "s1", "s1"],
            "condition": "a",
            "trial_no": [1, 2, 3],
            "response": [1, 2, 7],
            "reward": [1.0, 0.0, 1.0],
        }
    ).to_parquet(path)
    message = error_of(spec_for(path))
    assert "bad.parquet, row 3" in message and "'7'" in message


# --------------------------------------------------------------------------- table level


def test_exact_duplicate_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [*GOOD_ROWS[:3], GOOD_ROWS[1], *GOOD_ROWS[3:]]
    with caplog.at_level(logging.WARNING, logger="cogfit.clean"):
        trials, _ = clean(spec_for(write(tmp_path, rows)))
    assert len(trials) == len(GOOD_ROWS)
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "line 5" in warning and "line 3" in warning and "'s1'" in warning
    assert "trial 2" in warning


def test_conflicting_duplicate_names_both_lines(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,a,2,1,1,999"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv" in message and "'s1'" in message and "trial 2" in message
    assert "line 3 and line 8" in message


def test_rows_that_differ_only_in_an_unmapped_column_are_not_duplicates(
    tmp_path: Path,
) -> None:
    """The same participant, trial, choice and outcome with another reaction time: two
    different rows for one trial (before, they were dropped as duplicates)."""
    rows = [*GOOD_ROWS, "s1,a,2,2,0,999"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "'s1' has different rows for trial 2 (line 3 and line 8" in message
    assert "e.g. in column 'rt_ms'" in message


def test_a_conflict_in_a_mapped_column_names_it(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,a,2,1,0,310"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "e.g. in column 'response' (cogfit 'choice')" in message


def test_without_a_trial_column_the_file_order_is_the_trial_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows of two participants interleaved, one row repeated exactly: numbered 1, 2, ...
    per participant in file order, the repeat kept as a trial of its own; otherwise the
    same as the file with trial numbers."""
    header = "subject,condition,response,reward,rt_ms"
    unnumbered = [",".join(r.split(",")[:2] + r.split(",")[3:]) for r in GOOD_ROWS]
    interleaved = [unnumbered[i] for i in (0, 3, 1, 4, 2, 5)] + [unnumbered[2]]
    columns = {"participant": "subject", "group": "condition", "choice": "response"}
    columns["outcome"] = "reward"
    spec = spec_for(write(tmp_path, interleaved, header), columns=columns)
    with caplog.at_level(logging.INFO, logger="cogfit.clean"):
        trials, participants = clean(spec)
    assert "no trial column" in caplog.text and "in file order" in caplog.text
    assert trials["trial"].tolist() == [1, 2, 3, 4, 1, 2, 3]
    numbered = [*GOOD_ROWS[:3], "s1,a,4,1,1,320", *GOOD_ROWS[3:]]
    want, want_participants = clean(spec_for(write(tmp_path, numbered, name="numbered.csv")))
    pd.testing.assert_frame_equal(trials, want)
    pd.testing.assert_frame_equal(participants, want_participants)


def test_out_of_order_trials_are_sorted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [GOOD_ROWS[2], GOOD_ROWS[0], *GOOD_ROWS[3:], GOOD_ROWS[1]]
    with caplog.at_level(logging.INFO, logger="cogfit.clean"):
        trials, _ = clean(spec_for(write(tmp_path, rows)))
    assert trials["trial"].tolist() == [1, 2, 3, 1, 2, 3]
    assert trials["participant"].tolist() == ["s1"] * 3 + ["s2"] * 3
    assert "out of trial order" in caplog.text and "'s1'" in caplog.text


def test_group_change_within_participant(tmp_path: Path) -> None:
    message = error_of(spec_for(write(tmp_path, with_row(2, "s1,b,3,1,1,320"))))
    assert "bad.csv" in message and "column 'condition' (cogfit 'group')" in message
    assert "'s1'" in message and "'a' (line 2)" in message and "'b' (line 4)" in message


def test_participant_without_valid_trials_must_be_excluded(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s3,a,1,,,", "s3,a,2,NA,,"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv" in message and "'s3'" in message and "exclude.participants" in message
    excluded = config(write(tmp_path, rows), exclude={"participants": ["s3"]})
    _, participants = clean(CleaningSpec.from_config("test", excluded))
    assert participants.set_index("participant").loc["s3", "reason"] == "listed in config"


def test_nobody_left_after_exclusions(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS)
    message = error_of(spec_for(path, exclude={"min_trials": 10}))
    assert "bad.csv" in message and "no participant is left" in message
    assert "min_trials" in message


def test_listed_exclusion_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS)
    message = error_of(spec_for(path, exclude={"participants": ["s11"]}))
    assert "bad.csv" in message and "'s11'" in message and "exclude.participants" in message
    assert "did you mean 's1'" in message


def test_exclusion_rules_and_reasons(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s3,a,1,1,1,1", "s3,a,2,,,", "s3,a,3,,,"]
    spec = spec_for(write(tmp_path, rows), exclude={"min_trials": 3, "max_missing_fraction": 0.5})
    trials, participants = clean(spec)
    reasons = participants.set_index("participant")["reason"]
    assert reasons.to_dict() == {"s1": "", "s2": "", "s3": reasons["s3"]}
    assert "missed 66.7% of trials" in reasons["s3"] and "max_missing_fraction" in reasons["s3"]
    assert set(trials["participant"]) == {"s1", "s2"}


def test_without_group_column_everyone_is_in_group_all(tmp_path: Path) -> None:
    columns = dict(config("x")["columns"])
    del columns["group"]
    trials, participants = clean(spec_for(write(tmp_path, GOOD_ROWS), columns=columns))
    assert set(trials["group"]) == {"all"} and set(participants["group"]) == {"all"}


def test_block_column_is_kept_when_mapped(tmp_path: Path) -> None:
    columns = {**config("x")["columns"], "block": "rt_ms"}
    trials, _ = clean(spec_for(write(tmp_path, GOOD_ROWS), columns=columns))
    assert trials.columns[-1] == "block" and trials["block"].dtype == np.int64


def test_huge_block_numbers_stay_text_labels(tmp_path: Path) -> None:
    """Whole-number blocks were cast to int64 unchecked: 99999999999999999999 wrapped."""
    columns = {**config("x")["columns"], "block": "rt_ms"}
    rows = [*GOOD_ROWS[:5], "s2,b,3,1,0,99999999999999999999"]
    trials, _ = clean(spec_for(write(tmp_path, rows), columns=columns))
    assert trials["block"].tolist() == ["300", "310", "320", "330", "340", "99999999999999999999"]


def test_ids_with_spaces_are_trimmed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [r.replace("s1,", " 007 ,") for r in GOOD_ROWS]
    with caplog.at_level(logging.WARNING, logger="cogfit.clean"):
        trials, _ = clean(spec_for(write(tmp_path, rows)))
    assert set(trials["participant"]) == {"007", "s2"}
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "column 'subject'" in warning and "' 007 '" in warning and "line 2" in warning
    assert "3 value(s)" in warning


def test_ids_that_merge_when_trimmed_are_refused(tmp_path: Path) -> None:
    """'7' and ' 7' were silently one participant."""
    rows = ["7,a,1,1,1,1", "7,a,2,1,1,1", " 7,a,3,2,0,1", "8,b,1,1,1,1"]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "bad.csv, column 'subject' (cogfit 'participant')" in message
    assert "'7' (line 2) and ' 7' (line 4)" in message and "same participant id" in message


def test_group_labels_that_merge_when_trimmed_are_refused(tmp_path: Path) -> None:
    rows = [r.replace(",b,", ",b ,") if r.startswith("s2,b,3") else r for r in GOOD_ROWS]
    message = error_of(spec_for(write(tmp_path, rows)))
    assert "column 'condition' (cogfit 'group')" in message
    assert "'b' (line 5) and 'b ' (line 7)" in message


def test_semicolon_file_is_read_with_auto_delimiter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [r.replace(",", ";") for r in GOOD_ROWS]
    path = write(tmp_path, rows, header=HEADER.replace(",", ";"))
    with caplog.at_level(logging.INFO, logger="cogfit.clean"):
        trials, _ = clean(spec_for(path))
    reference, _ = clean(spec_for(write(tmp_path, GOOD_ROWS, name="good.csv")))
    pd.testing.assert_frame_equal(trials, reference)
    assert "split by ';'" in caplog.text


@pytest.mark.parametrize(("delimiter", "sep"), [(";", ";"), ("|", "|"), ("\t", "\t"), (" ", " ")])
def test_configured_delimiter(tmp_path: Path, delimiter: str, sep: str) -> None:
    path = write(tmp_path, [r.replace(",", sep) for r in GOOD_ROWS], HEADER.replace(",", sep))
    trials, _ = clean(spec_for(path, delimiter=delimiter))
    assert len(trials) == len(GOOD_ROWS)


def test_explicit_delimiter_suggests_the_one_that_finds_the_columns(tmp_path: Path) -> None:
    rows = [r.replace(",", ";") for r in GOOD_ROWS]
    path = write(tmp_path, rows, header=HEADER.replace(",", ";"))
    message = error_of(spec_for(path, delimiter="|"))
    assert "bad.csv: column(s)" in message and "not found" in message
    assert "split by ';'" in message and "delimiter: ';'" in message


def test_columns_not_found_suggests_a_tab_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, [r.replace(",", "\t") for r in GOOD_ROWS], HEADER.replace(",", "\t"))
    message = error_of(spec_for(path, delimiter=","))
    assert "split by tab" in message and 'delimiter: "\\t"' in message


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n", 1])
def test_bad_delimiter_is_a_config_error(delimiter: object) -> None:
    with pytest.raises(ConfigError, match="delimiter"):
        CleaningSpec.from_config("demo", config("x.csv", delimiter=delimiter))


def test_bad_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision"):
        CleaningSpec.from_config("demo", config("x.csv"), precision="float16")


def test_p_best_uses_each_participants_own_outcomes() -> None:
    trials = pd.DataFrame(
        {
            "participant": ["p"] * 5 + ["q"],
            "choice": pd.array([0, 0, 1, 1, pd.NA, 1], dtype="Int64"),
            "outcome": [1.0, 1.0, 0.0, 1.0, np.nan, 0.0],
            "missed": [False, False, False, False, True, False],
        }
    )
    # p: option 0 pays 1.0 when chosen, option 1 pays 0.5 -> 2 of 4 valid choices are best
    # q: only ever chose option 1, so it is their best option
    assert p_best(trials).to_dict() == {"p": 0.5, "q": 1.0}


# --------------------------------------------------------------------------- spec


def test_codes_and_ids_are_text_without_spaces_around() -> None:
    cfg = config("x.csv", missing_codes=[" -1", "NA "], exclude={"participants": [" 7 "]})
    spec = CleaningSpec.from_config("demo", cfg)
    assert spec.missing_codes == ("-1", "NA") and spec.exclude_participants == ("7",)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"missing_codes": [-1, "NA"]}, "missing_codes[0]"),
        ({"exclude": {"participants": [7]}}, "exclude.participants[0]"),
    ],
)
def test_numbers_for_codes_and_ids_are_refused_as_the_schema_does(change: dict, key: str) -> None:
    """YAML reads ``-1`` as a number: the schema wants text (quote it), and so does the spec."""
    with pytest.raises(ConfigError, match=rf"^config key datasets\.demo\.{re.escape(key)}: "):
        CleaningSpec.from_config("demo", config("x.csv", **change))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"n_options": 1}, "n_options"),
        ({"choice_base": 2}, "choice_base"),
        ({"format": "xlsx"}, "format"),
        ({"columns": {"participant": "s", "trial": "t", "choice": "c"}}, "outcome"),
        (
            {"columns": {"participant": "s", "trial": "s", "choice": "c", "outcome": "o"}},
            "participant and trial both name raw column 's'",
        ),
        ({"exclude": {"max_missing_fraction": 2}}, "max_missing_fraction"),
        ({"exclude": {"min_trials": 0}}, "min_trials"),
        ({"models": []}, "models"),
    ],
)
def test_bad_config_is_a_config_error(change: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        CleaningSpec.from_config("demo", config("x.csv", **change))
    message = str(info.value)
    assert message.startswith("config key datasets.demo") and "\n" not in message


def test_one_check_of_two_columns_naming_one_raw_column() -> None:
    """The pipeline's start-up check and the spec refuse it with the same line."""
    from cogfit.config import check_config

    cfg = config("x.csv")
    cfg["columns"]["outcome"] = "response"  # also the choice column
    with pytest.raises(ConfigError) as spec_error:
        CleaningSpec.from_config("demo", cfg)
    with pytest.raises(ConfigError) as start_error:
        check_config({"datasets": {"demo": cfg}})
    assert (
        str(spec_error.value)
        == str(start_error.value)
        == (
            "config key datasets.demo.columns: choice and outcome both name raw column "
            "'response'; each cogfit column needs its own"
        )
    )
    columns = {"participant": "s", "trial": "s"}
    with pytest.raises(ConfigError, match=r"^columns for x\.csv: participant and trial"):
        CleaningSpec("x.csv", "csv", columns, 2, 1, (), 1, 1.0, ())


# --------------------------------------------------------------------------- example file


@pytest.fixture(scope="module")
def example_spec() -> CleaningSpec:
    return spec_for(EXAMPLE, exclude={"min_trials": 50, "max_missing_fraction": 0.25})


def test_example_cleans_as_designed(
    example_spec: CleaningSpec, caplog: pytest.LogCaptureFixture
) -> None:
    before = sha256(EXAMPLE)
    with caplog.at_level(logging.INFO, logger="cogfit.clean"):
        trials, participants = clean(example_spec)
    assert sha256(EXAMPLE) == before

    assert len(participants) == 44 and participants["participant"].is_unique
    assert (~participants["excluded"]).sum() == 43
    sub044 = participants.set_index("participant").loc["sub-044"]
    assert sub044["excluded"] and "min_trials" in sub044["reason"] and sub044["n_trials"] == 30

    raw = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    kept = raw[raw["subject"] != "sub-044"].drop_duplicates()
    assert len(kept) == len(raw[raw["subject"] != "sub-044"]) - 1  # the one duplicate
    assert len(trials) == len(kept)
    assert "exact duplicate" in caplog.text and "included, 1 excluded" in caplog.text

    assert list(trials.columns) == ["participant", "group", "trial", "choice", "outcome", "missed"]
    assert str(trials["choice"].dtype) == "Int64" and trials["trial"].dtype == np.int64
    assert trials["outcome"].dtype == np.float64 and trials["missed"].dtype == bool
    assert all(isinstance(p, str) for p in trials["participant"])
    assert set(trials["choice"].dropna()) == {0, 1}
    merged = trials.merge(
        kept.assign(trial=kept["trial_no"].astype(int)),
        left_on=["participant", "trial"],
        right_on=["subject", "trial"],
    )
    assert len(merged) == len(trials)
    assert (merged["missed"] == (merged["response"] == "")).all()
    assert trials["outcome"].isna().equals(trials["missed"])
    assert set(trials.groupby("participant")["group"].first()) == {"control", "patient"}

    data = task_data_from_trials(trials, n_options=2)
    assert data.n_participants == 43 and data.groups == ("control", "patient")


def test_example_participants_learn(example_spec: CleaningSpec) -> None:
    """Simulated learners mostly pick the currently good option (0 until trial 60, then 1)."""
    trials, participants = clean(example_spec)
    valid = trials[~trials["missed"]]
    good = (valid["trial"] > 60).astype(int)
    accuracy = (valid["choice"] == good).groupby(valid["group"]).mean()
    assert (accuracy > 0.6).all()
    assert accuracy["control"] > accuracy["patient"]  # faster learners adapt after reversal
    included = participants[~participants["excluded"]]
    assert included["missed_fraction"].between(0, 0.15).all()


def test_csv_tsv_parquet_agree(tmp_path: Path, example_spec: CleaningSpec) -> None:
    csv_trials, csv_people = clean(example_spec)
    raw = pd.read_csv(EXAMPLE)  # native dtypes: floats with NaN for the empty cells
    raw.to_csv(tmp_path / "bandit.tsv", sep="\t", index=False)
    raw.to_parquet(tmp_path / "bandit.parquet")
    for name in ("bandit.tsv", "bandit.parquet"):
        cfg = config(tmp_path / name, exclude={"min_trials": 50, "max_missing_fraction": 0.25})
        trials, people = clean(CleaningSpec.from_config("test", cfg))
        pd.testing.assert_frame_equal(trials, csv_trials)
        pd.testing.assert_frame_equal(people, csv_people)


def test_ids_with_leading_zeros_stay_strings(tmp_path: Path) -> None:
    rows = [r.replace("s1", "007").replace("s2", "010") for r in GOOD_ROWS]
    path = write(tmp_path, rows)
    assert read_raw(spec_for(path))["subject"].tolist()[0] == "007"
    trials, _ = clean(spec_for(path))
    assert trials["participant"].unique().tolist() == ["007", "010"]


def test_run_clean_writes_both_tables(tmp_path: Path) -> None:
    spec = spec_for(write(tmp_path, GOOD_ROWS))
    run_clean(spec, tmp_path / "out" / "trials.parquet", tmp_path / "out" / "participants.parquet")
    trials, participants = clean(spec)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "trials.parquet"), trials)
    written = pd.read_parquet(tmp_path / "out" / "participants.parquet")
    pd.testing.assert_frame_equal(written, participants)


def test_failed_validation_writes_nothing(tmp_path: Path) -> None:
    spec = spec_for(write(tmp_path, with_row(0, "s1,a,1,9,1,300")))
    with pytest.raises(DataError):
        run_clean(spec, tmp_path / "t.parquet", tmp_path / "p.parquet")
    assert not (tmp_path / "t.parquet").exists() and not (tmp_path / "p.parquet").exists()


def test_p_best_is_judged_within_blocks() -> None:
    """After a reversal the other option is best: a perfect learner scores 1 per block."""
    trials = pd.DataFrame(
        {
            "participant": ["p"] * 6,
            "block": [1, 1, 1, 2, 2, 2],
            "choice": pd.array([0, 0, 1, 1, 1, 0], dtype="Int64"),
            "outcome": [1.0, 1.0, 0.0, 1.0, 1.0, 0.0],
            "missed": [False] * 6,
        }
    )
    # block 1: option 0 best, chosen 2 of 3; block 2: option 1 best, chosen 2 of 3
    assert p_best(trials).to_dict() == {"p": pytest.approx(4 / 6)}
    # without blocks option 0 (1.0, 1.0, 0.0) and 1 (0.0, 1.0, 1.0) tie: every choice is best
    assert p_best(trials.drop(columns="block")).to_dict() == {"p": 1.0}
