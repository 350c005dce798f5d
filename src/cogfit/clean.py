"""Raw trial file -> validated, cleaned trial table plus a per-participant summary.

Every problem in the raw file stops the pipeline with one :class:`~cogfit.errors.DataError`
line that names the file, the place (``line N`` as a spreadsheet shows it: header = line 1,
one line per record even when a quoted cell spans text lines, blank lines counted; ``row N``
for Parquet), the column (raw name and the cogfit name it maps to), the offending value and
what was expected. Numbers are read exactly from their decimal text: integers (trial
numbers, options, codes) must be below ``MAX_EXACT_INT`` = 2**53 in magnitude, real values
finite in the fit's precision. Which trial columns there are, and what each holds, the
dataset's models declare (:class:`~cogfit.models.spec.ColumnSpec`). A ``block`` column is
kept as int64 when every cell is such an integer, else as its text labels, so a huge block
number never wraps. Nothing is guessed silently: the only repairs are dropping exact
duplicate rows, sorting trials, trimming spaces around ids and group labels (two spellings
that then meet are an error), and choosing the delimiter that finds the mapped columns; each
is logged. Numbers are read without the spaces around them. The output follows the contract
in :mod:`cogfit.data`. The raw file is only ever opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import enum
import functools
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cogfit.columns import check_columns
from cogfit.config import dataset_columns
from cogfit.errors import ConfigError, DataError
from cogfit.io import write_parquet
from cogfit.models.catalog import BANDIT_COLUMNS
from cogfit.models.spec import ColumnSpec
from cogfit.schema import section_defaults, validate_section

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: the delimiters ``delimiter: auto`` tries when the format's own does not find the columns
DELIMITER_CANDIDATES = (",", ";", "\t", "|")
#: integers in the data (trial numbers, choices, integer blocks) must be smaller than this in
#: magnitude: float64 (Parquet float columns, pandas, JSON) holds every integer only below it
MAX_EXACT_INT = 2**53
DEFAULT_GROUP = "all"
MAX_LISTED = 20  # log at most this many dropped duplicates one by one
PARTICIPANT_OUTPUT = (
    "participant",
    "group",
    "n_trials",
    "n_missed",
    "missed_fraction",
    "p_best",
    "excluded",
    "reason",
)
_DELIMITERS = {"csv": ",", "tsv": "\t"}
_DEFAULT_LOG = logging.getLogger("cogfit.clean")
# a decimal number in ASCII: sign, digits with an optional point, exponent ('1_000', '0x10',
# 'inf', 'nan' and non-ASCII digits are not numbers here)
_NUMBER = re.compile(r"([+-]?)(?=\.?[0-9])([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")
_LINE_END = re.compile(r"\r\n|\r|\n")  # what open(newline="") splits lines at
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")  # NUL, or a non-UTF-8 byte (surrogateescape)


@dataclass(frozen=True)
class CleaningSpec:
    """How to read and clean one dataset: its config section ``datasets.<name>``.

    :meth:`from_config` checks the section against the config schema, the one source of
    its limits and defaults; the constructor adds only what the schema cannot express.
    """

    path: str
    format: str  # "auto" | "csv" | "tsv" | "parquet"
    columns: dict[str, str]  # cogfit name -> raw column name
    n_options: int
    choice_base: int  # 0 or 1: how options are numbered in the raw file
    missing_codes: tuple[str, ...]  # raw response values meaning "no response" (besides empty)
    min_trials: int
    max_missing_fraction: float
    exclude_participants: tuple[str, ...]
    name: str = ""  # dataset name, only for messages
    delimiter: str = "auto"  # CSV/TSV: "auto" or one character
    precision: str = "float32"  # of the fit: real values must be finite in it
    declared: tuple[ColumnSpec, ...] = BANDIT_COLUMNS  # the trial columns the models read
    column_bases: Mapping[str, int] = dataclasses.field(
        default_factory=dict
    )  # per column, not choice_base
    scale: Mapping[str, float] = dataclasses.field(
        default_factory=dict
    )  # per real column, a factor

    def __post_init__(self) -> None:
        check_columns(self.columns, self.name, self.path)
        unmapped = [c.name for c in self.declared if c.name not in self.columns]
        if unmapped:
            raise ConfigError(
                f"columns for {self.path}: no raw column for {unmapped}, which the models read"
            )

    @classmethod
    def from_config(
        cls, name: str, cfg: Mapping[str, Any], precision: str | None = None
    ) -> CleaningSpec:
        """Build from the config section of dataset ``name`` and the fit's
        ``sampler.precision``, both checked against the config schema (a one-line
        :class:`ConfigError` naming the key); missing keys take the schema's defaults."""
        section = validate_section(("datasets", name), cfg)
        exclude = section["exclude"]
        declared = dataset_columns(name, section)
        if precision is None:
            precision = section_defaults("sampler")["precision"]
        return cls(
            path=section["path"],
            format=section["format"],
            columns=section["columns"],
            n_options=section["n_options"],
            choice_base=section["choice_base"],
            missing_codes=_stripped(section["missing_codes"]),
            min_trials=exclude["min_trials"],
            max_missing_fraction=exclude["max_missing_fraction"],
            exclude_participants=_stripped(exclude["participants"]),
            name=name,
            delimiter=section["delimiter"],
            precision=validate_section(("sampler", "precision"), precision),
            declared=declared,
            column_bases=section["column_bases"],
            scale=section["scale"],
        )

    def base(self, column: str) -> int:
        """How the column's options or codes are numbered in the raw file."""
        return int(self.column_bases.get(column, self.choice_base))


def _stripped(values: list[str]) -> tuple[str, ...]:
    """Codes and ids as the cells they are compared with: without spaces around them."""
    return tuple(v.strip() for v in values)


# --------------------------------------------------------------------------- reading


def resolve_format(spec: CleaningSpec) -> str:
    """The file format: as configured, or from the file suffix when ``auto``."""
    if spec.format != "auto":
        return spec.format
    suffix = Path(spec.path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        formats = sorted(set(SUFFIX_FORMATS.values()))
        raise DataError(
            f"{spec.path}: cannot tell the file format from suffix {suffix!r}; expected one of "
            f"{sorted(SUFFIX_FORMATS)} or set format to one of {formats}"
        )
    return SUFFIX_FORMATS[suffix]


def read_raw(spec: CleaningSpec, log: logging.Logger | None = None) -> pd.DataFrame:
    """Read the raw file as it is; CSV/TSV cells and participant ids as text ("007" stays).

    The index holds where each row sits in the file (index name ``line`` for CSV/TSV: the
    spreadsheet row, header = line 1; ``row`` for Parquet, 1-based) so every message can
    point at it. The mapped columns are checked to exist, once each.
    """
    path = Path(spec.path)
    if not path.exists():
        raise DataError(f"{spec.path}: file not found (working directory {Path.cwd()})")
    if not path.is_file():
        raise DataError(f"{spec.path}: is not a regular file; expected a CSV, TSV or Parquet file")
    fmt = resolve_format(spec)
    if fmt == "parquet":
        raw, hint = _read_parquet(spec.path), ""
    else:
        raw, hint = _read_delimited(spec, fmt, log or _DEFAULT_LOG)
    _check_columns(spec, [str(c) for c in raw.columns], hint)
    participant = spec.columns["participant"]
    raw[participant] = raw[participant].astype(object).map(_raw_text).astype(str)
    return raw


def _read_delimited(spec: CleaningSpec, fmt: str, log: logging.Logger) -> tuple[pd.DataFrame, str]:
    """The table, and a hint for a columns-not-found error (another delimiter finds them)."""
    data = _read_bytes(spec.path)
    try:
        text = data.decode("utf-8-sig")
        suspect = "\x00" in text
    except UnicodeDecodeError:  # undecodable bytes become lone surrogates, found cell by cell
        text, suspect = data.decode("utf-8-sig", errors="surrogateescape"), True
    delimiter, hint = _choose_delimiter(spec, fmt, text, log)
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    header, records, lines = _records(spec.path, text, delimiter, suspect, utf16)
    index = pd.Index(lines, name="line")
    return pd.DataFrame(records, columns=header, index=index, dtype=str), hint


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot be read: {_one_line(e.strerror or e)}") from e


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their line ends, split where open(newline="") splits them."""
    start = 0
    for end in _LINE_END.finditer(text):
        yield text[start : end.end()]
        start = end.end()
    if start < len(text):
        yield text[start:]


def _reader(text: str, delimiter: str) -> Iterator[list[str]]:
    # strict: a stray quote after a closing quote or an unclosed quote is an error, not data
    return csv.reader(_lines(text), delimiter=delimiter, strict=True)


def _header(text: str, delimiter: str) -> list[str] | None:
    """The first record split by ``delimiter``; None when it does not parse that way."""
    try:
        return next(_reader(text, delimiter), None)
    except csv.Error:
        return None


def _choose_delimiter(
    spec: CleaningSpec, fmt: str, text: str, log: logging.Logger
) -> tuple[str, str]:
    """The delimiter to read with, and a hint for the columns-not-found error (else "").

    ``auto`` takes the format's delimiter unless the mapped columns are not all in the
    header split by it but are when split by exactly one of ``DELIMITER_CANDIDATES``.
    """
    wanted = set(spec.columns.values())

    def finds(delimiter: str) -> bool:
        header = _header(text, delimiter)
        return header is not None and wanted <= set(header)

    chosen = _DELIMITERS[fmt] if spec.delimiter == "auto" else spec.delimiter
    if finds(chosen):
        return chosen, ""
    others = [d for d in DELIMITER_CANDIDATES if d != chosen and finds(d)]
    if spec.delimiter == "auto" and len(others) == 1:
        log.info(
            "%s: the header has the mapped columns only when split by %s, not %s; read it as "
            "%s-separated (set delimiter to choose)",
            spec.path,
            _delimiter_name(others[0]),
            _delimiter_name(chosen),
            _delimiter_name(others[0]),
        )
        return others[0], ""
    if not others:
        return chosen, ""
    settings = " or ".join(f"delimiter: {_delimiter_setting(d)}" for d in others)
    return chosen, (
        f"; the header is split by {_delimiter_name(chosen)}, but has them all when split by "
        f"{' or '.join(_delimiter_name(d) for d in others)} (set {settings})"
    )


def _delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _delimiter_setting(delimiter: str) -> str:
    """How to write the delimiter in YAML."""
    return '"\\t"' if delimiter == "\t" else f"'{delimiter}'"


def _records(
    path: str, text: str, delimiter: str, suspect: bool, utf16: bool
) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, non-blank data records and their spreadsheet rows (header = 1, blanks count).

    ``suspect``: the text holds NUL or undecodable bytes, so each record is searched for them.
    """
    header: list[str] = []
    records: list[list[str]] = []
    lines: list[int] = []
    row = 0
    try:
        for row, fields in enumerate(_reader(text, delimiter), start=1):
            if suspect:
                _check_text(path, row, fields, header, utf16)
            if row == 1:
                header = fields
                if _blank(header):
                    raise DataError(f"{path}, line 1: is blank; expected a header naming columns")
            elif not _blank(fields):  # blank rows are skipped, still counted
                if len(fields) != len(header):
                    raise DataError(
                        f"{path}, line {row}: {len(fields)} fields but the header has "
                        f"{len(header)}; expected one field per header column"
                    )
                records.append(fields)
                lines.append(row)
    except csv.Error as e:
        raise DataError(f"{path}, line {row + 1}: {_csv_problem(e, delimiter)}") from e
    if row == 0:
        raise DataError(f"{path}: file is empty; expected a header line naming columns")
    if not records:
        raise DataError(f"{path}: has a header but no data rows")
    return header, records, lines


def _blank(fields: list[str]) -> bool:
    """No cell holds more than spaces (one strip for the whole record)."""
    return not "".join(fields).strip()


def _csv_problem(error: csv.Error, delimiter: str) -> str:
    """A csv module error as what is wrong and what was expected."""
    message = _one_line(error)
    name = _delimiter_name(delimiter)
    if "unexpected end of data" in message:
        return 'a quoted field is never closed; expected a closing quote (") before the end'
    if "expected after" in message:
        return (
            f"text follows a closing quote; expected {name} or a line end after a closing quote "
            '(a quote inside a quoted field is written "")'
        )
    if "field limit" in message:
        return (
            f"a field is longer than {csv.field_size_limit()} characters; expected shorter "
            "cells (an unclosed quote?)"
        )
    return f"unreadable as {name}-separated text ({message}); expected {name}-separated fields"


def _check_text(path: str, row: int, fields: list[str], header: list[str], utf16: bool) -> None:
    """Refuse the first NUL or non-UTF-8 byte, naming its row, column and value."""
    for j, field in enumerate(fields):
        found = _NOT_TEXT.search(field)
        if found is None:
            continue
        if row == 1:
            where = f"field {j + 1} of the header"
        else:
            where = f"column {header[j]!r}" if j < len(header) else f"field {j + 1}"
        char = found.group()
        if char == "\x00":
            problem, like = "a NUL byte (0x00), which text files do not contain", "UTF-16"
        else:
            problem, like = (
                f"byte 0x{ord(char) - 0xDC00:02X}, which is not UTF-8",
                "Latin-1 or Windows-1252",
            )
        if utf16:
            like = "UTF-16"
        raise DataError(
            f"{path}, line {row}, {where}: {problem} (is the file {like}?); expected UTF-8 "
            "text: save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')"
        )


def _read_parquet(path: str) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: cannot be read as Parquet: {_one_line(e)}") from e
    if raw.empty:
        raise DataError(f"{path}: has no data rows")
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c) for c in raw.columns]
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    return raw


def _one_line(error: object) -> str:
    """An exception's text as one line (library messages may span several)."""
    return " ".join(str(error).split())


def _raw_text(value: object) -> str:
    """One raw cell as text, spaces kept; integral floats lose ".0" so 2, 2.0 and "2" read alike.

    Everything is checked as text so CSV, TSV and Parquet inputs go through the same rules.
    """
    if isinstance(value, str):  # every CSV/TSV cell: the fast path
        return value
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return ""
    if isinstance(value, float | np.floating):
        number = float(value)
        whole = number.is_integer() and abs(number) < MAX_EXACT_INT
        return str(int(number)) if whole else repr(number)
    return str(value)


def _cell_text(value: object) -> str:
    """One raw cell as stripped text."""
    return _raw_text(value).strip()


# --------------------------------------------------------------------------- numbers


class _Fault(enum.Enum):
    """Why a cell's text is not the number wanted."""

    NOT_NUMBER = "not a number"
    NOT_WHOLE = "not an integer"
    TOO_LARGE = "too large"


_MAX_DIGITS = len(str(MAX_EXACT_INT))  # integers with more digits are too large


def _exact_integer(text: str) -> int | _Fault:
    """The integer a cell's decimal text denotes exactly ('12', '+3', '1.0', '2e3'), or why not.

    Worked out on the digits, never through a float, so 2**53 + 1 stays itself.
    """
    match = _NUMBER.fullmatch(text)
    if match is None:
        return _Fault.NOT_NUMBER
    sign, whole, fraction, exponent = match.groups(default="")
    digits = (whole + fraction).lstrip("0")
    significant = digits.rstrip("0")
    if not significant:
        return 0
    # value = significant * 10**scale
    scale = _exponent(exponent) - len(fraction) + len(digits) - len(significant)
    if len(significant) + scale > _MAX_DIGITS:
        return _Fault.TOO_LARGE
    if scale < 0:
        return _Fault.NOT_WHOLE
    value = int(significant) * 10**scale
    if value >= MAX_EXACT_INT:
        return _Fault.TOO_LARGE
    return -value if sign == "-" else value


def _exponent(text: str) -> int:
    """An exponent's value, clamped far beyond any meaningful one (no parsing of huge ints)."""
    body = text.lstrip("+-").lstrip("0") or "0"
    value = int(body) if len(body) <= 12 else 10**12
    return -value if text.startswith("-") else value


def _finite_float(text: str, largest: float) -> float | _Fault:
    """The float a cell's decimal text denotes if at most ``largest`` in magnitude, or why not."""
    if _NUMBER.fullmatch(text) is None:
        return _Fault.NOT_NUMBER
    value = float(text)
    return value if abs(value) <= largest else _Fault.TOO_LARGE


def _parsed(cells: pd.Series, parse: Callable[[str], object]) -> tuple[pd.Series, pd.Series]:
    """Each cell parsed (each distinct text once), and whether that failed (a _Fault)."""
    results = {cell: parse(cell) for cell in pd.unique(cells)}
    failed = {cell: isinstance(result, _Fault) for cell, result in results.items()}
    return cells.astype(object).map(results), cells.astype(object).map(failed).astype(bool)


# --------------------------------------------------------------------------- validation

Describe = Callable[[str], str]  # a cell's text -> "problem; expected what"


def _column(spec: CleaningSpec, name: str) -> str:
    return f"column {spec.columns[name]!r} (cogfit '{name}')"


def _says(problem: str, expected: str) -> Describe:
    """A message that is the same for every cell; ``problem`` shows the cell as ``{value}``."""
    return lambda cell: f"{problem.format(value=repr(cell))}; expected {expected}"


def _reject(
    spec: CleaningSpec, text: dict[str, pd.Series], name: str, bad: pd.Series, describe: Describe
) -> None:
    """Raise one DataError line for the first offending row of ``name``; count the others."""
    positions = np.flatnonzero(np.asarray(bad, dtype=bool))
    if positions.size == 0:
        return
    cells, first = text[name], positions[0]
    more = f" ({positions.size - 1} more row(s) like it)" if positions.size > 1 else ""
    raise DataError(
        f"{spec.path}, {cells.index.name} {cells.index[first]}, {_column(spec, name)}: "
        f"{describe(cells.iloc[first])}{more}"
    )


def _check_columns(spec: CleaningSpec, header: list[str], hint: str) -> None:
    """Every mapped column is in the header, once; ``hint`` says which delimiter would help."""
    absent = [
        f"{col!r} (cogfit '{name}')" for name, col in spec.columns.items() if col not in header
    ]
    if absent:
        raise DataError(
            f"{spec.path}: column(s) {', '.join(absent)} not found; available columns: "
            f"{header}{hint}"
        )
    for name, col in spec.columns.items():
        if header.count(col) > 1:
            raise DataError(
                f"{spec.path}: {_column(spec, name)} appears {header.count(col)} times in the "
                "header; expected unique column names"
            )


def _select_text(spec: CleaningSpec, raw: pd.DataFrame) -> dict[str, pd.Series]:
    """The mapped columns as stripped text, keyed by cogfit name."""
    return {name: raw[col].astype(object).map(_cell_text) for name, col in spec.columns.items()}


_LABELS = {  # cogfit column -> (what one value is, what was expected)
    "participant": ("participant id", "a participant id in every row"),
    "group": ("group", "a group name in every row (or leave 'group' unmapped)"),
}


def _parse_label(
    spec: CleaningSpec,
    raw: pd.DataFrame,
    text: dict[str, pd.Series],
    name: str,
    log: logging.Logger,
) -> pd.Series:
    """Participant ids or group labels: present in every row, one spelling each."""
    what, expected = _LABELS[name]
    _reject(spec, text, name, text[name] == "", _says(f"empty {what} {{value}}", expected))
    _check_trimmed(spec, raw[spec.columns[name]].astype(object).map(_raw_text), text, name, log)
    return text[name].astype(str)


def _check_trimmed(
    spec: CleaningSpec,
    spelled: pd.Series,
    text: dict[str, pd.Series],
    name: str,
    log: logging.Logger,
) -> None:
    """Spaces around a label are trimmed (logged); two spellings that then merge are refused."""
    cells = text[name]
    trimmed = (spelled != cells).to_numpy()
    if not trimmed.any():
        return
    unit, first = cells.index.name, np.flatnonzero(trimmed)[0]
    log.warning(
        "%s, %s: trimmed spaces around %d value(s), first %r on %s %s",
        spec.path,
        _column(spec, name),
        trimmed.sum(),
        spelled.iloc[first],
        unit,
        cells.index[first],
    )
    spellings = pd.DataFrame({"raw": spelled, "label": cells}).drop_duplicates("raw")
    clash = spellings[spellings.duplicated("label", keep=False)]
    if clash.empty:
        return
    label = clash["label"].iloc[0]
    (line_a, a), (line_b, b) = list(clash.loc[clash["label"] == label, "raw"].items())[:2]
    what = _LABELS[name][0]
    raise DataError(
        f"{spec.path}, {_column(spec, name)}: {a!r} ({unit} {line_a}) and {b!r} ({unit} "
        f"{line_b}) are the same {what} {label!r} once spaces around it are trimmed; expected "
        f"one spelling per {what} (remove the spaces, or rename one if they differ)"
    )


def _describe_trial(cell: str) -> str:
    if _exact_integer(cell) is _Fault.TOO_LARGE:
        return (
            f"trial number {cell!r} is too large to store exactly; expected a whole trial "
            f"number below 2**53 = {MAX_EXACT_INT} in magnitude"
        )
    return f"trial number {cell!r} is not an integer; expected a whole trial number such as 1, 2, 3"


def _parse_trial(spec: CleaningSpec, text: dict[str, pd.Series]) -> pd.Series:
    """Trial numbers as exact int64."""
    values, failed = _parsed(text["trial"], _exact_integer)
    _reject(spec, text, "trial", failed, _describe_trial)
    return values.astype(np.int64)


def _absent(spec: CleaningSpec, cells: pd.Series, column: ColumnSpec) -> pd.Series:
    """Empty cells, and for a response the missing codes: no value."""
    empty = cells == ""
    return empty | cells.isin(spec.missing_codes) if column.response else empty


def _missed(spec: CleaningSpec, text: dict[str, pd.Series]) -> pd.Series:
    """Trials without a required response: missed (the others' may be empty alone)."""
    missed = pd.Series(False, index=text["participant"].index)
    for column in spec.declared:
        if column.response and not column.missing:
            missed |= _absent(spec, text[column.name], column)
    return missed


def _parse_integer(
    spec: CleaningSpec, text: dict[str, pd.Series], column: ColumnSpec, skip: pd.Series
) -> pd.Series:
    """An option, binary or code column as nullable Int64 (options and numbered codes
    0-based); cells in ``skip`` (missed trials, empty cells) are <NA>."""
    name, cells = column.name, text[column.name]
    values, failed = _parsed(cells, _exact_integer)
    too_large = values.map(lambda v: v is _Fault.TOO_LARGE).astype(bool)
    expected, allowed, base = _allowed(spec, column)
    listed = f" or a missing code {list(spec.missing_codes)}" if spec.missing_codes else ""
    codes = f", or an empty cell{listed} for no response" if column.response else ""
    _reject(
        spec,
        text,
        name,
        ~skip & failed & ~too_large,
        _says(f"{name} {{value}} is not an integer", f"{expected}{codes}"),
    )
    number = values.where(~failed).astype(float)
    outside = ~skip & (too_large | ~number.isin(allowed))
    hint = ""
    if base is not None:
        low, high = min(allowed), max(allowed)
        if number[outside].between(low - 1, high + 1).all():  # all off by one: wrong base?
            hint = f"; is {_base_key(spec, name)} right?"
    _reject(
        spec,
        text,
        name,
        outside,
        _says(f"{name} {{value}} is outside the {_plural(column)}", f"{expected}{hint}{codes}"),
    )
    shift = 0 if base is None else base
    return (number - shift).where(~skip).astype("Int64")


def _allowed(spec: CleaningSpec, column: ColumnSpec) -> tuple[str, list[int], int | None]:
    """What the column's raw cells may be: its description, the values and their base."""
    if column.kind == "binary":
        return "0 or 1", [0, 1], None
    if column.values:
        shown = ", ".join(str(v) for v in column.values[:8])
        more = ", ..." if len(column.values) > 8 else ""
        return f"one of {shown}{more}", list(column.values), None
    base, n = spec.base(column.name), column.n_levels(spec.n_options)
    count = f"n_options = {n}" if column.levels is None else f"{n} {_plural(column)}"
    setting = f"{_base_key(spec, column.name)} = {base}"
    return f"{base}..{base + n - 1} ({count}, {setting})", list(range(base, base + n)), base


def _plural(column: ColumnSpec) -> str:
    return {"option": "options", "binary": "values 0 and 1"}.get(column.kind, "codes")


def _base_key(spec: CleaningSpec, column: str) -> str:
    """The setting that numbers ``column``'s raw values."""
    return f"column_bases.{column}" if column in spec.column_bases else "choice_base"


def _describe_real(spec: CleaningSpec, name: str, cell: str) -> str:
    largest = float(np.finfo(spec.precision).max) / spec.scale.get(name, 1.0)
    expected = "a finite number such as 0 or 1"
    if _finite_float(cell, largest) is _Fault.TOO_LARGE:
        fix = " or set sampler.precision: float64" if spec.precision != "float64" else ""
        return (
            f"{name} {cell!r} is too large for a {spec.precision} fit (largest {largest:.2g}); "
            f"expected {expected} (rescale them with the dataset's scale.{name}{fix})"
        )
    if _DECIMAL_COMMA.fullmatch(cell):
        point = cell.replace(",", ".")
        expected += f" (decimal comma? expected a decimal point, e.g. {point!r})"
    return f"{name} {cell!r} is not a number; expected {expected}"


def _parse_real(
    spec: CleaningSpec, text: dict[str, pd.Series], column: ColumnSpec, skip: pd.Series
) -> pd.Series:
    """A real column as float (times its ``scale``); NaN in ``skip``."""
    name, cells = column.name, text[column.name]
    factor = float(spec.scale.get(name, 1.0))
    largest = float(np.finfo(spec.precision).max) / factor
    values, failed = _parsed(cells, functools.partial(_finite_float, largest=largest))
    _reject(spec, text, name, ~skip & failed, functools.partial(_describe_real, spec, name))
    return (values.where(~failed).astype(float) * factor).where(~skip)


def _parse_column(
    spec: CleaningSpec, text: dict[str, pd.Series], column: ColumnSpec, missed: pd.Series
) -> pd.Series:
    """One declared column: required on answered trials unless it may be empty, ignored
    (<NA>/NaN) on missed ones."""
    absent = _absent(spec, text[column.name], column)
    if not column.missing and not column.response:
        _reject(
            spec,
            text,
            column.name,
            ~missed & absent,
            _says(
                f"missing {column.name} {{value}} on a trial with a response",
                f"a {column.name} on every trial with a response",
            ),
        )
    skip = missed | absent
    if column.kind == "real":
        return _parse_real(spec, text, column, skip)
    return _parse_integer(spec, text, column, skip)


def _parse_block(text: dict[str, pd.Series]) -> pd.Series:
    """Blocks as int64 when every cell is an integer below MAX_EXACT_INT, else as text labels."""
    values, failed = _parsed(text["block"], _exact_integer)
    return text["block"].astype(str) if failed.any() else values.astype(np.int64)


def _parse(
    spec: CleaningSpec, raw: pd.DataFrame, text: dict[str, pd.Series], log: logging.Logger
) -> pd.DataFrame:
    """Check every mapped cell and convert to the cleaned types (still in file order)."""
    participant = _parse_label(spec, raw, text, "participant", log)
    if "trial" in text:
        trial = _parse_trial(spec, text)
    else:  # the file's row order within each participant
        trial = participant.groupby(participant, sort=False).cumcount().astype(np.int64) + 1
    if "group" in text:
        group = _parse_label(spec, raw, text, "group", log)
    else:
        group = pd.Series(DEFAULT_GROUP, index=participant.index)
    missed = _missed(spec, text)
    df = pd.DataFrame({"participant": participant, "group": group.astype(str), "trial": trial})
    for column in spec.declared:
        df[column.name] = _parse_column(spec, text, column, missed)
    df["missed"] = missed.astype(bool)
    if "block" in text:
        df["block"] = _parse_block(text)
    return df


# --------------------------------------------------------------------------- table level


def _unmapped_text(spec: CleaningSpec, raw: pd.DataFrame) -> pd.DataFrame:
    """The raw columns no cogfit column reads, as stripped text (rows of a double export
    agree in these too)."""
    mapped = set(spec.columns.values())
    return raw[[c for c in raw.columns if c not in mapped]].astype(object).map(_cell_text)


def _drop_duplicates(
    spec: CleaningSpec, df: pd.DataFrame, unmapped: pd.DataFrame, log: logging.Logger
) -> pd.DataFrame:
    """Drop exact duplicate rows (a double export: equal in every column, mapped or not);
    refuse two different rows for one trial, naming a column they differ in."""
    unit = df.index.name
    content = [c for c in df.columns if c != "missed"]  # missed follows from choice
    both = pd.concat([df[content], unmapped.add_prefix("raw:")], axis=1)
    exact = both.duplicated(keep="first")
    kept = df[~exact]
    keys = [df["participant"], df["trial"]]
    original = df.index.to_series().groupby(keys).transform("first")[exact]
    for (label, row), same in zip(df[exact].head(MAX_LISTED).iterrows(), original, strict=False):
        log.warning(
            "%s, %s %s: dropping exact duplicate of %s %s (participant %r, trial %d)",
            spec.path,
            unit,
            label,
            unit,
            same,
            row["participant"],
            row["trial"],
        )
    if exact.sum() > MAX_LISTED:
        log.warning("%s: dropped %d more exact duplicate rows", spec.path, exact.sum() - MAX_LISTED)
    clash = kept[kept.duplicated(subset=["participant", "trial"], keep=False)]
    if not clash.empty:
        first = clash.iloc[0]
        lines = clash.index[
            (clash["participant"] == first["participant"]) & (clash["trial"] == first["trial"])
        ]
        a, b = both.loc[lines[0]], both.loc[lines[1]]
        differs = next(c for c in both.columns if not _same(a[c], b[c]))
        where = f"column {differs[4:]!r}" if differs.startswith("raw:") else _column(spec, differs)
        raise DataError(
            f"{spec.path}: participant {first['participant']!r} has different rows for trial "
            f"{first['trial']} ({unit} {lines[0]} and {unit} {lines[1]}, e.g. in {where}); "
            "expected one row per participant and trial, or exact duplicates"
        )
    return kept


def _same(a: object, b: object) -> bool:
    """Equal cells, a missing value equal to another."""
    return bool(pd.isna(a) and pd.isna(b)) if pd.isna(a) or pd.isna(b) else a == b


def _check_groups(spec: CleaningSpec, df: pd.DataFrame) -> None:
    """A participant belongs to one group; a change usually means an id was reused."""
    n_groups = df.groupby("participant", sort=True)["group"].nunique()
    changing = n_groups.index[n_groups > 1]
    if len(changing) == 0:
        return
    pid = changing[0]
    firsts = df[df["participant"] == pid].drop_duplicates("group")
    seen = ", ".join(f"{g!r} ({df.index.name} {i})" for i, g in firsts["group"].items())
    raise DataError(
        f"{spec.path}, {_column(spec, 'group')}: participant {pid!r} changes group within the "
        f"file: {seen}; expected one group per participant"
    )


def _sort_trials(spec: CleaningSpec, df: pd.DataFrame, log: logging.Logger) -> pd.DataFrame:
    """Sort by participant then trial; the file's order is not trusted, only reported."""
    backwards = df.groupby("participant", sort=False)["trial"].diff() < 0
    unordered = pd.unique(df.loc[backwards, "participant"])
    if len(unordered):
        log.info(
            "%s: rows of %d participant(s) were out of trial order (e.g. %r); sorted",
            spec.path,
            len(unordered),
            unordered[0],
        )
    return df.sort_values(["participant", "trial"], kind="stable")


# --------------------------------------------------------------------------- summary


def payoff(trials: pd.DataFrame) -> pd.Series | None:
    """What each trial paid, for the checks that judge choices by it: ``outcome``, else
    ``reward``, else ``gain`` less the magnitude of ``loss``; None when the table has
    none of these."""
    for name in ("outcome", "reward"):
        if name in trials.columns:
            return trials[name].astype(float)
    if {"gain", "loss"} <= set(trials.columns):
        return trials["gain"].astype(float) - trials["loss"].astype(float).abs()
    return None


def bandit_view(trials: pd.DataFrame, response: str | None) -> pd.DataFrame | None:
    """The trials as a bandit's: the option ``response`` as ``choice`` and the
    :func:`payoff` as ``outcome`` (what :func:`best_options` and :func:`p_best` read);
    None without an option response or a payoff."""
    paid = payoff(trials)
    if response is None or paid is None:
        return None
    return trials.assign(choice=trials[response], outcome=paid)


def best_options(trials: pd.DataFrame) -> pd.MultiIndex:
    """The best options as ``(participant[, block], choice)`` pairs, from valid trials.

    The best option is the one with the highest mean observed outcome *when chosen by that
    participant*, within each block when the table has a ``block`` column, else over the
    whole session; ties are all best, and an option a participant never chose is never best.
    """
    valid = trials[~trials["missed"]]
    keys = best_keys(valid)
    means = valid.groupby([*keys, "choice"])["outcome"].mean()
    top = means.groupby(level=keys).transform("max")
    return means.index[means == top]


def best_keys(trials: pd.DataFrame) -> list[str]:
    """The columns the best option is judged within: participant, and block if there is one."""
    return ["participant", "block"] if "block" in trials.columns else ["participant"]


def p_best(trials: pd.DataFrame) -> pd.Series:
    """Per participant: fraction of valid choices that picked the best-looking option.

    The best option is :func:`best_options`' (judged per block when a block column is
    mapped, so a reversal schedule split into blocks is judged per block). A cheap
    data-quality signal (near 1/K suggests random responding), not a model quantity. NaN
    when a participant has no valid trials.
    """
    valid = trials[~trials["missed"]]
    keys = best_keys(valid)
    picked_best = pd.MultiIndex.from_frame(valid[[*keys, "choice"]]).isin(best_options(trials))
    rate = pd.Series(picked_best, index=valid["participant"].to_numpy()).groupby(level=0).mean()
    return rate.reindex(pd.unique(trials["participant"])).astype(float)


def _summarise(df: pd.DataFrame, declared: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    by = df.groupby("participant", sort=True)
    summary = pd.DataFrame(
        {
            "group": by["group"].first(),
            "n_trials": by.size().astype(np.int64),
            "n_missed": by["missed"].sum().astype(np.int64),
        }
    )
    summary["missed_fraction"] = summary["n_missed"] / summary["n_trials"]
    options = [c.name for c in declared if c.response and c.kind == "option"]
    bandit = bandit_view(df, options[0] if options else None)  # p_best is a bandit's measure
    summary["p_best"] = np.nan if bandit is None else p_best(bandit).reindex(summary.index)
    return summary


def _check_listed(spec: CleaningSpec, participants: pd.Index) -> None:
    """Typo protection: excluding an id that is not in the data silently excludes nobody."""
    known = [str(p) for p in participants]
    for pid in spec.exclude_participants:
        if pid not in known:
            close = difflib.get_close_matches(pid, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(
                f"{spec.path}: exclude.participants lists {pid!r}, which is not a participant in "
                f"{_column(spec, 'participant')}{hint}; expected ids exactly as in the file"
            )


def _exclusion_reason(spec: CleaningSpec, pid: str, row: pd.Series) -> str:
    reasons = []
    if pid in spec.exclude_participants:
        reasons.append("listed in config")
    if row["n_trials"] < spec.min_trials:
        reasons.append(f"only {row['n_trials']} trials (min_trials = {spec.min_trials})")
    if row["missed_fraction"] > spec.max_missing_fraction:
        reasons.append(
            f"missed {row['missed_fraction']:.1%} of trials "
            f"(max_missing_fraction = {spec.max_missing_fraction:g})"
        )
    return "; ".join(reasons)


def _apply_exclusions(spec: CleaningSpec, summary: pd.DataFrame) -> pd.DataFrame:
    _check_listed(spec, summary.index)
    summary = summary.copy()
    summary["reason"] = [_exclusion_reason(spec, str(p), r) for p, r in summary.iterrows()]
    summary["excluded"] = summary["reason"] != ""
    empty = summary.index[~summary["excluded"] & (summary["n_missed"] == summary["n_trials"])]
    if len(empty):
        ids = ", ".join(repr(p) for p in empty)
        raise DataError(
            f"{spec.path}: participant(s) {ids} have no valid (responded) trials but no "
            "exclusion rule removes them; add them to exclude.participants"
        )
    if summary["excluded"].all():
        raise DataError(
            f"{spec.path}: no participant is left after exclusions ({len(summary)} excluded, "
            f"e.g. {summary.index[0]!r}: {summary['reason'].iloc[0]}); expected at least one; "
            "check exclude.min_trials, exclude.max_missing_fraction and exclude.participants"
        )
    return summary


# --------------------------------------------------------------------------- entry points


def clean(
    spec: CleaningSpec, log: logging.Logger | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate and clean the raw file: (trials of included participants, all participants)."""
    log = log or _DEFAULT_LOG
    raw = read_raw(spec, log)
    parsed = _parse(spec, raw, _select_text(spec, raw), log)
    if "trial" in spec.columns:
        deduped = _drop_duplicates(spec, parsed, _unmapped_text(spec, raw), log)
    else:
        log.info(
            "%s: no trial column: each participant's rows in file order are their trials; "
            "duplicate rows are kept (without trial numbers two equal rows may be two trials)",
            spec.path,
        )
        deduped = parsed
    _check_groups(spec, deduped)
    trials = _sort_trials(spec, deduped, log).reset_index(drop=True)
    summary = _apply_exclusions(spec, _summarise(trials, spec.declared))

    included = summary.index[~summary["excluded"]]
    out = trials[trials["participant"].isin(included)].reset_index(drop=True)
    columns = ["participant", "group", "trial", *(c.name for c in spec.declared), "missed"]
    columns += ["block"] if "block" in out.columns else []
    participants = summary.rename_axis("participant").reset_index()[list(PARTICIPANT_OUTPUT)]
    _log_summary(spec, log, n_rows=len(raw), trials=trials, summary=summary)
    return out[columns], participants


def _log_summary(
    spec: CleaningSpec,
    log: logging.Logger,
    n_rows: int,
    trials: pd.DataFrame,
    summary: pd.DataFrame,
) -> None:
    label = spec.name or spec.path
    n_missed = int(trials["missed"].sum())
    log.info("%s: read %d rows for %d participants from %s", label, n_rows, len(summary), spec.path)
    log.info("%s: dropped %d exact duplicate row(s)", label, n_rows - len(trials))
    log.info(
        "%s: %d of %d trials missed (%.1f%%)",
        label,
        n_missed,
        len(trials),
        100 * n_missed / len(trials),
    )
    excluded = summary[summary["excluded"]]
    log.info(
        "%s: %d participant(s) included, %d excluded",
        label,
        len(summary) - len(excluded),
        len(excluded),
    )
    for pid, reason in excluded["reason"].items():
        log.info("%s: excluded %r: %s", label, pid, reason)


def run_clean(
    spec: CleaningSpec,
    trials_path: str | os.PathLike[str],
    participants_path: str | os.PathLike[str],
    log: logging.Logger | None = None,
) -> None:
    """Clean and write both tables atomically (nothing is written if validation fails)."""
    trials, participants = clean(spec, log)
    write_parquet(trials, trials_path)
    write_parquet(participants, participants_path)


__all__ = ["CleaningSpec", "clean", "p_best", "read_raw", "resolve_format", "run_clean"]
