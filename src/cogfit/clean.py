"""Raw trial file -> validated, cleaned trial table plus a per-participant summary.

Every problem in the raw file stops the pipeline with one :class:`~cogfit.errors.DataError`
line that names the file, the place (``line N`` as a spreadsheet shows it, header = line 1;
``row N`` for Parquet), the column (raw name and the cogfit name it maps to), the offending
value and what was expected. Nothing is guessed silently: the only repairs are dropping exact
duplicate rows and sorting trials, and both are logged. The output follows the contract in
:mod:`cogfit.data`. The raw file is only ever opened for reading.
"""

from __future__ import annotations

import csv
import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from cogfit.errors import ConfigError, DataError
from cogfit.io import write_parquet

REQUIRED_COLUMNS = ("participant", "trial", "choice", "outcome")
OPTIONAL_COLUMNS = ("group", "block")
FORMATS = ("auto", "csv", "tsv", "parquet")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DEFAULT_GROUP = "all"
MAX_LISTED = 20  # log at most this many dropped duplicates one by one
TRIAL_OUTPUT = ("participant", "group", "trial", "choice", "outcome", "missed")
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


@dataclass(frozen=True)
class CleaningSpec:
    """How to read and clean one dataset; validated on construction so bad config fails early."""

    path: str
    format: str  # "auto" | "csv" | "tsv" | "parquet"
    columns: dict[str, str]  # cogfit name -> raw column name
    n_options: int
    choice_base: int  # 0 or 1: how options are numbered in the raw file
    missing_codes: tuple[str, ...]  # raw choice values meaning "no response" (besides empty)
    min_trials: int
    max_missing_fraction: float
    exclude_participants: tuple[str, ...]
    name: str = ""  # dataset name, only for messages

    def __post_init__(self) -> None:
        where = f"dataset '{self.name}'" if self.name else f"cleaning spec for {self.path}"

        def fail(problem: str) -> NoReturn:
            raise ConfigError(f"{where}: {problem}")

        if not isinstance(self.path, str | os.PathLike) or not str(self.path):
            fail(f"path must be a non-empty file path, got {self.path!r}")
        if self.format not in FORMATS:
            fail(f"format {self.format!r} is not one of {list(FORMATS)}")
        if not isinstance(self.columns, Mapping):
            fail(f"columns must map cogfit names to raw column names, got {self.columns!r}")
        unknown = sorted(set(self.columns) - set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS))
        if unknown:
            fail(
                f"columns has unknown key(s) {unknown}; known: {list(REQUIRED_COLUMNS)} + "
                f"optional {list(OPTIONAL_COLUMNS)}"
            )
        absent = [c for c in REQUIRED_COLUMNS if c not in self.columns]
        if absent:
            fail(f"columns must map {absent} to a raw column name")
        raw = list(self.columns.values())
        if any(not isinstance(r, str) or not r for r in raw):
            fail(f"every raw column name must be a non-empty string, got {dict(self.columns)}")
        if len(set(raw)) != len(raw):
            fail(f"two cogfit columns map to the same raw column: {dict(self.columns)}")
        if not _is_int(self.n_options) or self.n_options < 2:
            fail(f"n_options must be an integer >= 2, got {self.n_options!r}")
        if self.choice_base not in (0, 1) or isinstance(self.choice_base, bool):
            fail(f"choice_base must be 0 or 1, got {self.choice_base!r}")
        if not _is_int(self.min_trials) or self.min_trials < 0:
            fail(f"exclude.min_trials must be an integer >= 0, got {self.min_trials!r}")
        frac = self.max_missing_fraction
        if not isinstance(frac, int | float) or isinstance(frac, bool) or not 0 <= frac <= 1:
            fail(f"exclude.max_missing_fraction must be a number in [0, 1], got {frac!r}")
        for key, values in (
            ("missing_codes", self.missing_codes),
            ("exclude.participants", self.exclude_participants),
        ):
            if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
                fail(f"{key} must be a tuple of strings, got {values!r}")

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any]) -> CleaningSpec:
        """Build from one dataset's config section; YAML scalars (e.g. -1, 7) become strings."""
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"dataset '{name}': expected a mapping, got {type(cfg).__name__}")
        if "path" not in cfg or "columns" not in cfg:
            raise ConfigError(f"dataset '{name}': 'path' and 'columns' are required")
        exclude = cfg.get("exclude") or {}
        if not isinstance(exclude, Mapping):
            raise ConfigError(f"dataset '{name}': exclude must be a mapping, got {exclude!r}")
        columns = cfg["columns"]
        return cls(
            path=str(cfg["path"]),
            format=cfg.get("format", "auto"),
            columns=dict(columns) if isinstance(columns, Mapping) else columns,
            n_options=cfg.get("n_options", 2),
            choice_base=cfg.get("choice_base", 0),
            missing_codes=_as_str_tuple(name, "missing_codes", cfg.get("missing_codes")),
            min_trials=exclude.get("min_trials", 0),
            max_missing_fraction=exclude.get("max_missing_fraction", 1.0),
            exclude_participants=_as_str_tuple(
                name, "exclude.participants", exclude.get("participants")
            ),
            name=name,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _as_str_tuple(name: str, key: str, values: object) -> tuple[str, ...]:
    """Config lists of ids/codes as strings: YAML reads ``-1`` or ``7`` as numbers."""
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ConfigError(f"dataset '{name}': {key} must be a list, got {values!r}")
    return tuple(_cell_text(v) for v in values)


# --------------------------------------------------------------------------- reading


def resolve_format(spec: CleaningSpec) -> str:
    """The file format: as configured, or from the file suffix when ``auto``."""
    if spec.format != "auto":
        return spec.format
    suffix = Path(spec.path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise DataError(
            f"{spec.path}: cannot tell the file format from suffix {suffix!r}; expected one of "
            f"{sorted(SUFFIX_FORMATS)} or set format to one of {list(FORMATS[1:])}"
        )
    return SUFFIX_FORMATS[suffix]


def read_raw(spec: CleaningSpec) -> pd.DataFrame:
    """Read the raw file as it is; CSV/TSV cells and participant ids as text ("007" stays).

    The index holds where each row sits in the file (index name ``line`` for CSV/TSV, with
    the header on line 1; ``row`` for Parquet, 1-based) so every message can point at it.
    """
    path = Path(spec.path)
    if not path.exists():
        raise DataError(f"{spec.path}: file not found (working directory {Path.cwd()})")
    if not path.is_file():
        raise DataError(f"{spec.path}: is not a regular file; expected a CSV, TSV or Parquet file")
    fmt = resolve_format(spec)
    if fmt == "parquet":
        raw = _read_parquet(spec.path)
    else:
        raw = _read_delimited(spec.path, _DELIMITERS[fmt])
    participant = spec.columns["participant"]
    if participant in raw.columns and raw.columns.tolist().count(participant) == 1:
        raw[participant] = raw[participant].astype(object).map(_cell_text).astype(str)
    return raw


def _read_delimited(path: str, delimiter: str) -> pd.DataFrame:
    """Read with the csv module, which knows each record's true line number (quotes included)."""
    records: list[list[str]] = []
    lines: list[int] = []
    start = 1  # line on which the record being read begins
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: file is empty; expected a header line naming columns")
            start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):  # blank lines are skipped, numbering kept
                    if len(row) != len(header):
                        raise DataError(
                            f"{path}, line {start}: {len(row)} fields but the header has "
                            f"{len(header)}; expected one field per header column"
                        )
                    records.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from e
    except csv.Error as e:
        raise DataError(f"{path}, line {start}: unreadable as {delimiter!r}-separated: {e}") from e
    except OSError as e:
        raise DataError(f"{path}: cannot be read: {e.strerror or e}") from e
    if not records:
        raise DataError(f"{path}: has a header but no data rows")
    return pd.DataFrame(records, columns=header, index=pd.Index(lines, name="line"), dtype=str)


def _read_parquet(path: str) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: cannot be read as Parquet: {e}") from e
    if raw.empty:
        raise DataError(f"{path}: has no data rows")
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c) for c in raw.columns]
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    return raw


def _cell_text(value: object) -> str:
    """One raw cell as stripped text; integral numbers lose ".0" so 2, 2.0 and "2" read alike.

    Everything is checked as text so CSV, TSV and Parquet inputs go through the same rules.
    """
    if not isinstance(value, str) and pd.isna(value):
        return ""
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value).strip()


# --------------------------------------------------------------------------- validation


def _column(spec: CleaningSpec, name: str) -> str:
    return f"column '{spec.columns[name]}' (cogfit '{name}')"


def _reject(
    spec: CleaningSpec,
    text: dict[str, pd.Series],
    name: str,
    bad: pd.Series,
    problem: str,
    expected: str,
) -> None:
    """Raise one DataError line for the first offending row of ``name``; count the others."""
    positions = np.flatnonzero(np.asarray(bad, dtype=bool))
    if positions.size == 0:
        return
    cells, first = text[name], positions[0]
    more = f" ({positions.size - 1} more row(s) like it)" if positions.size > 1 else ""
    raise DataError(
        f"{spec.path}, {cells.index.name} {cells.index[first]}, {_column(spec, name)}: "
        f"{problem.format(value=repr(cells.iloc[first]))}; expected {expected}{more}"
    )


def _select_text(spec: CleaningSpec, raw: pd.DataFrame) -> dict[str, pd.Series]:
    """The mapped columns as stripped text, keyed by cogfit name."""
    header = [str(c) for c in raw.columns]
    absent = [
        f"'{col}' (cogfit '{name}')" for name, col in spec.columns.items() if col not in header
    ]
    if absent:
        raise DataError(
            f"{spec.path}: column(s) {', '.join(absent)} not found; available columns: {header}"
        )
    for name, col in spec.columns.items():
        if header.count(col) > 1:
            raise DataError(
                f"{spec.path}: {_column(spec, name)} appears {header.count(col)} times in the "
                "header; expected unique column names"
            )
    return {name: raw[col].astype(object).map(_cell_text) for name, col in spec.columns.items()}


def _to_number(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text, errors="coerce").astype(float)


def _is_whole(number: pd.Series) -> pd.Series:
    return np.isfinite(number) & (number == np.floor(number))


def _parse_choice(spec: CleaningSpec, text: dict[str, pd.Series]) -> tuple[pd.Series, pd.Series]:
    """(0-based choice as float, missed); empty cells and missing codes are missed trials."""
    cells = text["choice"]
    missed = (cells == "") | cells.isin(spec.missing_codes)
    choice = _to_number(cells)
    low, high = spec.choice_base, spec.choice_base + spec.n_options - 1
    listed = f" or a missing code {list(spec.missing_codes)}" if spec.missing_codes else ""
    codes = f"an empty cell{listed}"
    _reject(
        spec,
        text,
        "choice",
        ~missed & ~_is_whole(choice),
        "choice {value} is not an integer",
        f"an option number {low}..{high}, or {codes} for no response",
    )
    outside = ~missed & ((choice < low) | (choice > high))
    near = choice[outside].between(low - 1, high + 1).all()  # all off by one: wrong base?
    _reject(
        spec,
        text,
        "choice",
        outside,
        "choice {value} is outside the options",
        f"{low}..{high} (n_options = {spec.n_options}, choice_base = {spec.choice_base}"
        f"{'; is choice_base right?' if near else ''}), or {codes} for no response",
    )
    return (choice - spec.choice_base).where(~missed), missed


def _parse_outcome(spec: CleaningSpec, text: dict[str, pd.Series], missed: pd.Series) -> pd.Series:
    """Outcome as float; required on answered trials, ignored (NaN) on missed ones."""
    cells = text["outcome"]
    outcome = _to_number(cells)
    _reject(
        spec,
        text,
        "outcome",
        ~missed & (cells == ""),
        "missing outcome {value} on a trial with a valid choice",
        "an outcome on every trial with a response",
    )
    _reject(
        spec,
        text,
        "outcome",
        ~missed & ~np.isfinite(outcome),
        "outcome {value} is not a number",
        "a finite number such as 0 or 1",
    )
    return outcome.where(~missed)


def _parse(spec: CleaningSpec, text: dict[str, pd.Series]) -> pd.DataFrame:
    """Check every mapped cell and convert to the cleaned types (still in file order)."""
    participant = text["participant"]
    _reject(
        spec,
        text,
        "participant",
        participant == "",
        "empty participant id {value}",
        "a participant id in every row",
    )
    trial = _to_number(text["trial"])
    _reject(
        spec,
        text,
        "trial",
        ~_is_whole(trial),
        "trial number {value} is not an integer",
        "a whole trial number such as 1, 2, 3",
    )
    if "group" in text:
        group = text["group"]
        _reject(
            spec,
            text,
            "group",
            group == "",
            "empty group {value}",
            "a group name in every row (or leave 'group' unmapped)",
        )
    else:
        group = pd.Series(DEFAULT_GROUP, index=participant.index)
    choice, missed = _parse_choice(spec, text)

    df = pd.DataFrame(
        {
            "participant": participant.astype(str),
            "group": group.astype(str),
            "trial": trial.astype(np.int64),
            "choice": choice.astype("Int64"),
            "outcome": _parse_outcome(spec, text, missed),
            "missed": missed.astype(bool),
        }
    )
    if "block" in text:
        block = _to_number(text["block"])
        df["block"] = block.astype(np.int64) if _is_whole(block).all() else text["block"]
    return df


def _drop_duplicates(spec: CleaningSpec, df: pd.DataFrame, log: logging.Logger) -> pd.DataFrame:
    """Drop exact duplicate rows (a double export); refuse two different rows for one trial."""
    unit = df.index.name
    content = [c for c in df.columns if c != "missed"]  # missed follows from choice
    exact = df.duplicated(subset=content, keep="first")
    kept = df[~exact]
    keys = [df["participant"], df["trial"]]
    original = df.index.to_series().groupby(keys).transform("first")[exact]
    for (label, row), same in zip(df[exact].head(MAX_LISTED).iterrows(), original, strict=False):
        log.warning(
            "%s, %s %s: dropping exact duplicate of %s %s (participant '%s', trial %d)",
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
        raise DataError(
            f"{spec.path}: participant '{first['participant']}' has different rows for trial "
            f"{first['trial']} ({unit} {lines[0]} and {unit} {lines[1]}); expected one row per "
            "participant and trial, or exact duplicates"
        )
    return kept


def _check_groups(spec: CleaningSpec, df: pd.DataFrame) -> None:
    """A participant belongs to one group; a change usually means an id was reused."""
    n_groups = df.groupby("participant", sort=True)["group"].nunique()
    changing = n_groups.index[n_groups > 1]
    if len(changing) == 0:
        return
    pid = changing[0]
    firsts = df[df["participant"] == pid].drop_duplicates("group")
    seen = ", ".join(f"'{g}' ({df.index.name} {i})" for i, g in firsts["group"].items())
    raise DataError(
        f"{spec.path}, {_column(spec, 'group')}: participant '{pid}' changes group within the "
        f"file: {seen}; expected one group per participant"
    )


def _sort_trials(spec: CleaningSpec, df: pd.DataFrame, log: logging.Logger) -> pd.DataFrame:
    """Sort by participant then trial; the file's order is not trusted, only reported."""
    backwards = df.groupby("participant", sort=False)["trial"].diff() < 0
    unordered = pd.unique(df.loc[backwards, "participant"])
    if len(unordered):
        log.info(
            "%s: rows of %d participant(s) were out of trial order (e.g. '%s'); sorted",
            spec.path,
            len(unordered),
            unordered[0],
        )
    return df.sort_values(["participant", "trial"], kind="stable")


# --------------------------------------------------------------------------- summary


def p_best(trials: pd.DataFrame) -> pd.Series:
    """Per participant: fraction of valid choices that picked the best-looking option.

    The best option is the one with the highest mean observed outcome *when chosen by that
    participant*, within each block when a block column is mapped (so a reversal schedule
    split into blocks is judged per block), else over the whole session; ties all count as
    best. A cheap data-quality signal (near 1/K suggests random responding), not a model
    quantity. NaN when a participant has no valid trials.
    """
    valid = trials[~trials["missed"]]
    keys = ["participant", "block"] if "block" in valid.columns else ["participant"]
    means = valid.groupby([*keys, "choice"])["outcome"].mean()
    top = means.groupby(level=keys).transform("max")
    best = means.index[means == top]
    picked_best = pd.MultiIndex.from_frame(valid[[*keys, "choice"]]).isin(best)
    rate = pd.Series(picked_best, index=valid["participant"].to_numpy()).groupby(level=0).mean()
    return rate.reindex(pd.unique(trials["participant"])).astype(float)


def _summarise(df: pd.DataFrame) -> pd.DataFrame:
    by = df.groupby("participant", sort=True)
    summary = pd.DataFrame(
        {
            "group": by["group"].first(),
            "n_trials": by.size().astype(np.int64),
            "n_missed": by["missed"].sum().astype(np.int64),
        }
    )
    summary["missed_fraction"] = summary["n_missed"] / summary["n_trials"]
    summary["p_best"] = p_best(df).reindex(summary.index)
    return summary


def _check_listed(spec: CleaningSpec, participants: pd.Index) -> None:
    """Typo protection: excluding an id that is not in the data silently excludes nobody."""
    known = [str(p) for p in participants]
    for pid in spec.exclude_participants:
        if pid not in known:
            close = difflib.get_close_matches(pid, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(
                f"{spec.path}: exclude.participants lists '{pid}', which is not a participant in "
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
        ids = ", ".join(f"'{p}'" for p in empty)
        raise DataError(
            f"{spec.path}: participant(s) {ids} have no valid (responded) trials but no "
            "exclusion rule removes them; add them to exclude.participants"
        )
    if summary["excluded"].all():
        raise DataError(
            f"{spec.path}: no participant is left after exclusions ({len(summary)} excluded, "
            f"e.g. '{summary.index[0]}': {summary['reason'].iloc[0]}); expected at least one; "
            "check exclude.min_trials, exclude.max_missing_fraction and exclude.participants"
        )
    return summary


# --------------------------------------------------------------------------- entry points


def clean(
    spec: CleaningSpec, log: logging.Logger | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate and clean the raw file: (trials of included participants, all participants)."""
    log = log or _DEFAULT_LOG
    raw = read_raw(spec)
    parsed = _parse(spec, _select_text(spec, raw))
    deduped = _drop_duplicates(spec, parsed, log)
    _check_groups(spec, deduped)
    trials = _sort_trials(spec, deduped, log).reset_index(drop=True)
    summary = _apply_exclusions(spec, _summarise(trials))

    included = summary.index[~summary["excluded"]]
    out = trials[trials["participant"].isin(included)].reset_index(drop=True)
    columns = list(TRIAL_OUTPUT) + (["block"] if "block" in out.columns else [])
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
        log.info("%s: excluded '%s': %s", label, pid, reason)


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
