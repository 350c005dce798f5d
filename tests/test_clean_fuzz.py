"""Fuzzed raw files: clean() ends in one precise error line or in a table that round-trips.

Hypothesis writes raw files (delimiters, encodings, quoting, odd numbers and ids, blank
lines, duplicates, missing, extra and ragged columns, Parquet) and dataset configs. An
independent reference (the csv module and Decimal, none of cogfit's helpers) reads each file
by the documented rules and says what it holds or which problems it has. clean() must then
return exactly the reference's table, or raise one DataError/ConfigError line that names the
file and one of the reference's problems (and the line of one, where it has lines). It never
raises anything else and never changes the raw file (bytes and mtime).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cogfit.clean import CleaningSpec, clean
from cogfit.errors import ConfigError, DataError

LIMIT = 2**53  # the documented bound on integers in the data (README, clean's docstring)
CANDIDATES = (",", ";", "\t", "|")  # what delimiter: auto may switch to
USUAL = {"csv": ",", "tsv": "\t", "txt": "\t"}
NAMES = {
    "participant": "subject",
    "group": "condition",
    "trial": "trial_no",
    "choice": "response",
    "outcome": "reward",
    "block": "blk",
}
ODD_NAMES = {"participant": "Versuchs person", "trial": "trial;no", "outcome": "réward|€"}
ODD_NUMBERS = [
    *("1e400", "-1e400", "nan", "NaN", "inf", "-inf", "Infinity", "-0", "1.0", " 2 ", "0x10"),
    *("1_000", "1e39", "-1e39", "3.4e38", "3.5e38", "1e308", "2e308", "1e-400", "1e-45"),
    *("0,5", "1,000", "", "  ", "+3", ".5", "5.", "2e0", "1e", "e1", ".", "--1", "1.2.3"),
    *(str(LIMIT - 1), str(LIMIT), str(LIMIT + 1), f"-{LIMIT - 1}", "1e20", "1e999999"),
    *("99999999999999999999", "1.0000000000000000001", "1e999999999999999999999"),
    *("\u0661", "\u00a02", "1 000", "true", "0.1", "-1", "3", "12"),
]
ODD_IDS = [
    *("s1", "s2", "007", "7", " 7", "7 ", "\u00e9", "e\u0301", "\u05d0\u05d1\u05d2"),
    *("\u202eabc", "\u0627\u0644\u0639", "id,1", 'say "hi"', "two\nlines", "tab\there"),
    *("semi;colon", "pipe|id", "\U0001f600", "\u00a0x", "", " ", "x" * 300, "NA"),
]
ODD_GROUPS = ["a", "b", " a", "a ", "\u00e9", "", "g;1", "control"]
MISSING_CODES = ["-1", "NA", "timeout", "99", " NA"]
STRAYS = ['"', ",", ";", "\t", "|", "\r", "\n", "\r\n", "\x00", " ", "\ufeff", "\u00e9", "0"]


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One raw file and its dataset config, before writing."""

    fmt: str  # csv | tsv | txt | parquet (the suffix)
    header: list[str]
    records: list[list[str] | None]  # data records as written; None: a blank line
    config: dict[str, Any]
    precision: str
    delimiter: str = ","  # the file's own
    encoding: str = "utf-8"
    quoting: int = csv.QUOTE_MINIMAL
    line_end: str = "\r\n"
    typed: dict[str, str] = field(default_factory=dict)  # parquet column -> int | float
    strays: list[tuple[float, str]] = field(default_factory=list)  # (where in the text, char)

    @property
    def columns(self) -> dict[str, str]:
        return self.config["columns"]


@st.composite
def cases(draw: st.DrawFn, formats: tuple[str, ...] = ("csv", "tsv", "txt")) -> Case:
    """A raw table with odd cells, rows and columns, and a config to clean it with."""
    fmt = draw(st.sampled_from(formats))
    names = dict(NAMES)
    if draw(now_and_then(10)):
        names.update(ODD_NAMES)
    mapped = ["participant", "trial", "choice", "outcome"]
    mapped += [c for c in ("group", "block") if draw(st.booleans())]
    n_options, base = draw(st.integers(2, 3)), draw(st.sampled_from([0, 1]))
    codes = draw(st.lists(st.sampled_from(MISSING_CODES), max_size=2, unique=True))
    ids = draw(st.lists(participant_ids(), min_size=1, max_size=4, unique=True))
    rows = []
    for pid in ids:
        group = draw(st.sampled_from(ODD_GROUPS[:2] * 3 + ODD_GROUPS))
        for trial in draw(st.permutations(range(1, draw(st.integers(1, 5)) + 1))):
            rows.append(
                {
                    "participant": pid,
                    "group": group,
                    "trial": str(trial),
                    "choice": draw(choices(n_options, base, codes)),
                    "outcome": draw(outcomes()),
                    "block": draw(st.sampled_from(["1", "2", "02", "1.0"])),
                    "rt": "300",
                }
            )
    rows = draw(mutated_rows(rows))
    order = [*mapped, "rt"] if draw(st.booleans()) else mapped
    order = draw(st.permutations(order))
    if draw(now_and_then(20)):  # a mapped column is missing
        order = [c for c in order if c != draw(st.sampled_from(mapped))]
    header = [names.get(c, c) for c in order]
    records: list[list[str] | None] = [[row[c] for c in order] for row in rows]
    records = draw(ragged(records))
    for _ in range(draw(st.integers(0, 2))):  # blank lines anywhere after the header
        records.insert(draw(st.integers(0, len(records))), None)
    config = {
        "path": "",
        "format": draw(st.sampled_from(["auto", "auto", fmt if fmt != "txt" else "tsv"])),
        "columns": {c: names[c] for c in mapped},
        "n_options": n_options,
        "choice_base": base,
        "missing_codes": codes,
        "exclude": draw(exclusions(ids)),
        "models": ["rw"],
    }
    case = Case(fmt, header, records, config, draw(st.sampled_from(["float32", "float64"])))
    if fmt == "parquet":
        kinds = st.sampled_from(["str", "int", "float"])
        case.typed = {c: draw(kinds) for c in ("trial", "choice", "outcome")}
        return case
    case.delimiter = draw(st.sampled_from([USUAL[fmt], USUAL[fmt], *CANDIDATES]))
    # mostly auto, then the file's own, now and then another
    setting = draw(st.sampled_from(["auto"] * 6 + ["own"] * 3 + ["other"]))
    others = st.sampled_from([*CANDIDATES, "\u00a7"])
    own = case.delimiter if setting == "own" else "auto"
    case.config["delimiter"] = draw(others) if setting == "other" else own
    encodings = ["utf-8"] * 8 + ["utf-8-sig", "utf-8-sig", "latin-1", "utf-16"]
    case.encoding = draw(st.sampled_from(encodings))
    case.quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    case.line_end = draw(st.sampled_from(["\r\n", "\r\n", "\n", "\n", "\r"]))
    if draw(now_and_then(8)):  # a stray quote, delimiter, line break, NUL, BOM, ...
        where = st.floats(0, 1, allow_nan=False)
        case.strays = draw(st.lists(st.tuples(where, st.sampled_from(STRAYS)), max_size=2))
    return case


def now_and_then(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws (integers(...) == 0 would favour the bound 0)."""
    return st.sampled_from([False] * (n - 1) + [True])


def odd_numbers() -> st.SearchStrategy[str]:
    return st.sampled_from(ODD_NUMBERS) | st.text(max_size=5)


def participant_ids() -> st.SearchStrategy[str]:
    plain = st.builds(lambda i: f"p{i:02d}", st.integers(0, 30))
    long = st.builds(lambda n: "L" * n, st.integers(100, 3000))
    return st.one_of(plain, plain, plain, st.sampled_from(ODD_IDS), long, st.text(max_size=6))


def choices(n_options: int, base: int, codes: list[str]) -> st.SearchStrategy[str]:
    """Mostly an option, now and then a miss (odd values come from mutated_rows)."""
    options = [str(base + k) for k in range(n_options)]
    return st.sampled_from(options * 4 + ["", *codes])


def outcomes() -> st.SearchStrategy[str]:
    usual = st.sampled_from(["0", "1", "0.5", "-1.25", "1.0", "-0", "1e-3"])
    floats = st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr)
    return st.one_of(usual, usual, usual, floats)


@st.composite
def mutated_rows(draw: st.DrawFn, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Odd cells, exact and conflicting duplicates, trial numbers out of any scheme."""
    for _ in range(draw(st.integers(0, 3))):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        what = draw(st.sampled_from(["cell", "exact", "conflict", "id", "group"]))
        if what == "cell":
            row[draw(st.sampled_from(["trial", "choice", "outcome", "block"]))] = draw(
                odd_numbers()
            )
        elif what == "exact":
            rows.insert(draw(st.integers(0, len(rows))), dict(row))
        elif what == "conflict":
            rows.append({**row, "outcome": draw(outcomes())})
        elif what == "id":
            row["participant"] = draw(st.sampled_from(ODD_IDS))
        else:
            row["group"] = draw(st.sampled_from(ODD_GROUPS))
    return rows


@st.composite
def ragged(draw: st.DrawFn, records: list[list[str] | None]) -> list[list[str] | None]:
    """Now and then one record with a field too many or too few."""
    if records and draw(now_and_then(20)):
        record = records[draw(st.integers(0, len(records) - 1))]
        assert record is not None
        if draw(st.booleans()):
            record.append("extra")
        elif len(record) > 1:
            record.pop()
    return records


@st.composite
def exclusions(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    listed = draw(st.lists(st.sampled_from([*ids, "zz-typo"]), max_size=2, unique=True))
    return {
        "min_trials": draw(st.integers(1, 3)),
        "max_missing_fraction": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "participants": listed,
    }


# --------------------------------------------------------------------------- writing


def write(case: Case, folder: Path) -> Path:
    """Write the raw file (text: the records, then stray characters, then the encoding)."""
    path = folder / f"raw.{case.fmt}"
    case.config["path"] = str(path)
    if case.fmt == "parquet":
        parquet_frame(case).to_parquet(path, index=False)
        return path
    text = "".join(record_text(case, record) for record in [case.header, *case.records])
    for where, char in case.strays:
        at = round(where * len(text))
        text = text[:at] + char + text[at:]
    if case.encoding == "utf-16":
        path.write_bytes(text.encode("utf-16"))
    else:
        prefix = b"\xef\xbb\xbf" if case.encoding == "utf-8-sig" else b""
        path.write_bytes(prefix + text.encode(case.encoding, errors="replace"))
    return path


def record_text(case: Case, record: list[str] | None) -> str:
    if record is None:
        return case.line_end
    out = io.StringIO()
    csv.writer(
        out, delimiter=case.delimiter, quoting=case.quoting, lineterminator=case.line_end
    ).writerow(record)
    return out.getvalue()


def not_utf8(cell: str) -> bool:
    """A Latin-1 cell whose bytes are not UTF-8 (multi-byte UTF-8 never spans ASCII)."""
    try:
        cell.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def parquet_frame(case: Case) -> pd.DataFrame:
    """Text columns, or int64/float64 where the case asks and every cell converts."""
    width = len(case.header)  # a table has no ragged rows or blank lines
    rows = [(r + [""] * width)[:width] for r in case.records if r is not None]
    frame = pd.DataFrame({name: [r[j] for r in rows] for j, name in enumerate(case.header)})
    for cogfit, kind in case.typed.items():
        name = case.columns[cogfit]
        if name not in frame.columns:
            continue
        converted = typed_column(frame[name].tolist(), kind)
        if converted is None:
            case.typed[cogfit] = "str"
        else:
            frame[name] = converted
    case.typed = {c: k for c, k in case.typed.items() if k != "str"}
    return frame


def typed_column(cells: list[str], kind: str) -> pd.Series | None:
    try:
        if kind == "int":
            return pd.Series([int(c) for c in cells], dtype=np.int64)
        return pd.Series([float(c) if c.strip() else np.nan for c in cells], dtype=np.float64)
    except (ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------- reference


class Invalid(Exception):
    """The reference's verdict: the file has these problems (kind, spreadsheet rows)."""

    def __init__(self, problems: list[tuple[str, set[int]]]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass
class Table:
    """What a valid file holds: one dict per kept row (in file order), and header names."""

    rows: list[dict[str, Any]]
    raw: list[dict[str, str]]  # the unstripped participant/group cells of each row


def reference(case: Case, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cleaned tables the documented rules give, or Invalid with every problem found."""
    table = read_parquet(case, path) if case.fmt == "parquet" else read_text(case, path)
    rows = cell_problems(case, table)
    return table_result(case, rows)


def read_text(case: Case, path: Path) -> Table:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if case.encoding == "utf-16":  # its byte order mark is not UTF-8, nor is the rest
            raise Invalid([("encoding", {1}), ("parse", {1})]) from None
        # Latin-1: the first row with a non-UTF-8 cell, unless reading fails before it
        problems = parse_problems(case, data.decode("latin-1"), bad=not_utf8)
        assert problems, "not UTF-8, yet every cell is"
        raise Invalid(problems) from None
    problems = parse_problems(case, text)
    if problems:
        raise Invalid(problems)
    delimiter = chosen_delimiter(case, text)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    header, data_rows = records[0], []
    for row, record in enumerate(records[1:], start=2):
        if any(cell.strip() for cell in record):
            data_rows.append((row, dict(zip(header, record, strict=True))))
    if not data_rows:
        raise Invalid([("no_rows", set())])
    check_header(case, header)
    return cells_of(case, data_rows)


def parse_problems(
    case: Case, text: str, bad: Callable[[str], bool] = lambda cell: False
) -> list[tuple[str, set[int]]]:
    """The first problem of reading the text as records, with its row; [] if none.

    ``bad``: a cell that is not text (NUL always is); its row fails to read as well.
    """
    if not text:
        return [("empty", set())]
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=chosen_delimiter(case, text), strict=True
    )
    width, row = 0, 0
    try:
        for row, record in enumerate(reader, start=1):
            if any("\x00" in cell or bad(cell) for cell in record):
                return [("encoding", {row}), ("parse", {row})]
            if row == 1:
                width = len(record)
                if not any(c.strip() for c in record):
                    return [("blank_header", {1})]
            elif any(c.strip() for c in record) and len(record) != width:
                return [("ragged", {row})]
    except csv.Error:
        return [("parse", {row + 1})]
    return []


def header_of(text: str, delimiter: str) -> list[str] | None:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        return None


def chosen_delimiter(case: Case, text: str) -> str:
    """As documented: the configured one, or auto's pick."""
    configured = case.config.get("delimiter", "auto")
    if configured != "auto":
        return configured
    usual = USUAL[case.fmt]
    wanted = set(case.columns.values())

    def finds(d: str) -> bool:
        header = header_of(text, d)
        return header is not None and wanted <= set(header)

    others = [d for d in CANDIDATES if d != usual and finds(d)]
    return others[0] if not finds(usual) and len(others) == 1 else usual


def check_header(case: Case, header: list[str]) -> None:
    for name in case.columns.values():
        if header.count(name) != 1:
            raise Invalid([("columns", set())])


def read_parquet(case: Case, path: Path) -> Table:
    frame = pd.read_parquet(path)
    data_rows = list(enumerate(frame.to_dict("records"), start=1))
    if not data_rows:
        raise Invalid([("no_rows", set())])
    check_header(case, [str(c) for c in frame.columns])
    return cells_of(case, data_rows)


def cells_of(case: Case, data_rows: list[tuple[int, dict[str, Any]]]) -> Table:
    """The mapped cells of each row: text, or for typed Parquet columns the stored number."""
    rows, raw = [], []
    for row, record in data_rows:
        values: dict[str, Any] = {"row": row}
        for cogfit, name in case.columns.items():
            values[cogfit] = record[name]
        rows.append(values)
        raw.append({c: values[c] for c in ("participant", "group") if c in values})
    return Table(rows, raw)


def integer(value: Any) -> int | None:
    """Exactly the integer a cell holds (|value| < 2**53), else None."""
    if isinstance(value, int | np.integer):
        return int(value) if abs(int(value)) < LIMIT else None
    if isinstance(value, float | np.floating):
        ok = np.isfinite(value) and float(value).is_integer() and abs(value) < LIMIT
        return int(value) if ok else None
    number = decimal(value)
    if number is None or abs(number) >= LIMIT or number != number.to_integral_value():
        return None
    return int(number)


def decimal(text: str) -> Decimal | None:
    """A finite plain-ASCII decimal number (no '_', 'inf', 'nan'), else None."""
    text = text.strip()
    if not text.isascii() or "_" in text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def as_text(value: Any) -> str:
    """A stored Parquet value as the text cogfit compares (2.0 reads as '2'; NaN as empty)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | np.integer):
        return str(int(value))
    number = float(value)
    if np.isnan(number):
        return ""
    return str(int(number)) if number.is_integer() and abs(number) < LIMIT else repr(number)


def outcome_value(case: Case, value: Any) -> float | None:
    largest = float(np.finfo(case.precision).max)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif decimal(value) is None:
        return None
    else:
        number = float(value.strip())
    return number if abs(number) <= largest else None


def cell_problems(case: Case, table: Table) -> list[dict[str, Any]]:
    """Each row parsed by the documented rules; Invalid with every cell problem found."""
    problems: dict[str, set[int]] = {}
    codes = {c.strip() for c in case.config["missing_codes"]}
    low = case.config["choice_base"]
    high = low + case.config["n_options"] - 1
    parsed = []
    for values in table.rows:
        row, out = values["row"], {"row": values["row"]}

        def bad(kind: str, row: int = row) -> None:
            problems.setdefault(kind, set()).add(row)

        for label in ("participant", "group"):
            if label in values:
                out[label] = as_text(values[label])
                if not out[label]:
                    bad(f"{label}_empty")
        out.setdefault("group", "all")
        out["trial"] = integer(values["trial"])
        if out["trial"] is None:
            bad("trial")
        choice = as_text(values["choice"])
        out["missed"] = choice == "" or choice in codes
        out["choice"] = None
        if not out["missed"]:
            number = integer(values["choice"])
            if number is None or not low <= number <= high:
                bad("choice")
            else:
                out["choice"] = number - low
        out["outcome"] = None
        if not out["missed"]:
            if as_text(values["outcome"]) == "":
                bad("outcome")
            else:
                out["outcome"] = outcome_value(case, values["outcome"])
                if out["outcome"] is None:
                    bad("outcome")
        if "block" in values:
            out["block"] = values["block"]
        parsed.append(out)
    for label in ("participant", "group"):
        collisions = spelling_collisions(table, label)
        if collisions:
            problems.setdefault("trim", set()).update(collisions)
    if problems:
        raise Invalid(sorted(problems.items()))
    if "block" in case.columns:
        blocks = [integer(r["block"]) for r in parsed]
        for r, number in zip(parsed, blocks, strict=True):
            r["block"] = as_text(r["block"]) if None in blocks else number
    return parsed


def spelling_collisions(table: Table, label: str) -> set[int]:
    """Rows of raw spellings that differ but are the same once stripped."""
    first_row: dict[str, int] = {}
    for values, raw in zip(table.rows, table.raw, strict=True):
        if label in raw and isinstance(raw[label], str):
            first_row.setdefault(raw[label], values["row"])
    by_label: dict[str, list[int]] = {}
    for spelling, row in first_row.items():
        by_label.setdefault(spelling.strip(), []).append(row)
    return {row for rows in by_label.values() if len(rows) > 1 for row in rows}


def table_result(case: Case, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Duplicates, groups and exclusions by the documented rules; the two output tables."""
    content = ("participant", "group", "trial", "choice", "outcome", "block")
    kept, seen, by_trial, conflicts = [], set(), {}, set()
    for r in rows:
        key = tuple(r.get(c) for c in content)
        if key in seen:
            continue  # exact duplicate
        seen.add(key)
        trial = (r["participant"], r["trial"])
        if trial in by_trial:
            conflicts |= {by_trial[trial], r["row"]}
        by_trial.setdefault(trial, r["row"])
        kept.append(r)
    if conflicts:
        raise Invalid([("conflict", conflicts)])
    groups: dict[str, set[str]] = {}
    for r in kept:
        groups.setdefault(r["participant"], set()).add(r["group"])
    if any(len(g) > 1 for g in groups.values()):
        raise Invalid([("group_change", set())])
    exclude = case.config["exclude"]
    listed = [p.strip() for p in exclude["participants"]]
    if any(p not in groups for p in listed):
        raise Invalid([("listed", set())])
    people = []
    for pid in sorted(groups):
        mine = [r for r in kept if r["participant"] == pid]
        n_missed = sum(r["missed"] for r in mine)
        excluded = (
            pid in listed
            or len(mine) < exclude["min_trials"]
            or n_missed / len(mine) > exclude["max_missing_fraction"]
        )
        people.append(
            {"participant": pid, "n_trials": len(mine), "n_missed": n_missed, "excluded": excluded}
        )
    if any(not p["excluded"] and p["n_missed"] == p["n_trials"] for p in people):
        raise Invalid([("no_valid", set())])
    if all(p["excluded"] for p in people):
        raise Invalid([("nobody", set())])
    included = {p["participant"] for p in people if not p["excluded"]}
    out = sorted((r for r in kept if r["participant"] in included), key=trial_order)
    return pd.DataFrame(out), pd.DataFrame(people)


def trial_order(row: dict[str, Any]) -> tuple[str, int]:
    return row["participant"], row["trial"]


# --------------------------------------------------------------------------- checks

# Which problem a message is about, by its wording (every DataError clean() can raise).
KINDS = [
    ("encoding", "UTF-8"),
    ("parse", "quote"),
    ("parse", "field is longer"),
    ("parse", "-separated"),
    ("ragged", "fields but the header has"),
    ("blank_header", "line 1: is blank"),
    ("empty", "file is empty"),
    ("no_rows", "no data rows"),
    ("columns", "not found; available columns"),
    ("columns", "times in the header"),
    ("participant_empty", "empty participant id"),
    ("group_empty", "empty group"),
    ("trim", "once spaces around it are trimmed"),
    ("trial", "(cogfit 'trial'): trial number"),
    ("choice", "(cogfit 'choice'): choice"),
    ("outcome", "(cogfit 'outcome'): "),
    ("conflict", "has different rows for trial"),
    ("group_change", "changes group"),
    ("listed", "exclude.participants lists"),
    ("no_valid", "have no valid (responded) trials"),
    ("nobody", "no participant is left"),
]
PLACE = re.compile(r"\b(?:line|row) (\d+)\b")


def check_error(message: str, path: Path, expected: Invalid | None) -> None:
    """One line naming the file and one of the reference's problems (and its row)."""
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(str(path)), message
    assert expected is not None, f"the reference reads this file as valid: {message}"
    kinds = {kind for kind, words in KINDS if words in message}
    assert kinds, f"unknown error: {message}"
    matching = [rows for kind, rows in expected.problems if kind in kinds]
    assert matching, f"{message} but the reference found {expected.problems}"
    wanted = set().union(*matching)
    if wanted:
        named = {int(n) for n in PLACE.findall(message[len(str(path)) :])}
        assert named & wanted, f"{message} names rows {named}, the reference {wanted}"


def check_tables(
    trials: pd.DataFrame, people: pd.DataFrame, case: Case, expected: tuple[pd.DataFrame, ...]
) -> None:
    """The cleaned tables hold exactly the reference's rows, values and types."""
    want_trials, want_people = expected
    assert list(trials["trial"]) == list(want_trials["trial"])
    assert list(trials["participant"]) == list(want_trials["participant"])
    assert all(isinstance(p, str) for p in trials["participant"])
    assert list(trials["group"]) == list(want_trials["group"])
    assert list(trials["missed"]) == list(want_trials["missed"])
    choice = [None if pd.isna(c) else int(c) for c in trials["choice"]]
    assert choice == [None if pd.isna(c) else int(c) for c in want_trials["choice"]]
    got = trials["outcome"].to_numpy()
    want = np.array([np.nan if v is None else v for v in want_trials["outcome"]], dtype=float)
    assert np.array_equal(got, want, equal_nan=True), (got, want)
    if "block" in case.columns:
        assert list(trials["block"]) == list(want_trials["block"])
    assert trials["trial"].dtype == np.int64 and str(trials["choice"].dtype) == "Int64"
    assert trials["outcome"].dtype == np.float64 and trials["missed"].dtype == bool
    summary = people.set_index("participant")
    for p in want_people.to_dict("records"):
        got_p = summary.loc[p["participant"]]
        assert got_p["n_trials"] == p["n_trials"] and got_p["n_missed"] == p["n_missed"]
        assert bool(got_p["excluded"]) == p["excluded"]
    assert len(summary) == len(want_people)


class Formatted(logging.Handler):
    """Formats every record (a bad format string raises) and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage()


QUIET = logging.getLogger("cogfit.clean.fuzz")
QUIET.addHandler(Formatted())
QUIET.propagate = False


def run(case: Case) -> None:
    """Write, clean, and compare with the reference; the raw file stays as it was."""
    with tempfile.TemporaryDirectory() as folder:
        path = write(case, Path(folder))
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # so any write would show
        before = path.read_bytes()
        try:
            expected: Invalid | tuple[pd.DataFrame, pd.DataFrame] = reference(case, path)
        except Invalid as invalid:
            expected = invalid
        try:
            spec = CleaningSpec.from_config("fuzz", case.config, precision=case.precision)
            trials, people = clean(spec, QUIET)
        except (DataError, ConfigError) as error:
            check_error(str(error), path, expected if isinstance(expected, Invalid) else None)
            event("refused", payload=expected.problems[0][0])
        else:
            event("cleaned")
            assert not isinstance(expected, Invalid), f"cleaned, but {expected.problems}"
            check_tables(trials, people, case, expected)
        assert path.read_bytes() == before
        assert path.stat().st_mtime_ns == 1_000_000_000


# --------------------------------------------------------------------------- tests

# Deterministic (derandomize) so CI reruns the same corpus; too_slow: a case draws several
# dozen values, which Hypothesis's generation-time health check counts against it.
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@settings(FUZZ, max_examples=800)
@given(cases())
def test_fuzzed_text_files_clean_or_fail_in_one_line(case: Case) -> None:
    run(case)


@settings(FUZZ, max_examples=250)
@given(cases(formats=("parquet",)))
def test_fuzzed_parquet_files_clean_or_fail_in_one_line(case: Case) -> None:
    run(case)


# decimal-looking text: digits, point, exponent in any combination (some not numbers at all)
NUMBER = re.compile(r"\A[+-]?[0-9]{0,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,4})?\Z")


@st.composite
def one_odd_cell(draw: st.DrawFn) -> Case:
    """A good file with one cell of any text: the number parsers against Decimal."""
    column = draw(st.sampled_from(["trial", "choice", "outcome", "block"]))
    header = [NAMES[c] for c in ("participant", "trial", "choice", "outcome", "block")]
    records: list[list[str] | None] = [
        ["a", "1", "0", "1", "1"],
        ["a", "2", "1", "0", "1"],
        ["b", "1", "1", "1", "2"],
    ]
    cell = draw(st.text(max_size=12) | st.sampled_from(ODD_NUMBERS) | st.from_regex(NUMBER))
    row = records[draw(st.integers(0, 2))]
    assert row is not None
    row[header.index(NAMES[column])] = cell
    config = {
        "path": "",
        "columns": {c: NAMES[c] for c in ("participant", "trial", "choice", "outcome", "block")},
        "n_options": 2,
        "choice_base": 0,
        "missing_codes": [],
        "exclude": {"min_trials": 1, "max_missing_fraction": 1.0, "participants": []},
        "models": ["rw"],
    }
    precision = draw(st.sampled_from(["float32", "float64"]))
    return Case("csv", header, records, config, precision, quoting=csv.QUOTE_ALL)


@settings(FUZZ, max_examples=500)
@given(one_odd_cell())
def test_fuzzed_cells_are_read_exactly_or_refused(case: Case) -> None:
    run(case)
