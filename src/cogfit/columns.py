"""A dataset's column mapping: which raw column each cogfit column reads, checked against
the trial columns its models declare. Plain Python (no NumPy or pandas), so the config
check runs where Snakemake parses the workflow, in a driver environment with nothing but
Snakemake."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cogfit.errors import ConfigError
from cogfit.models.spec import ColumnSpec, ModelSpec
from cogfit.schema import key_path


def check_columns(columns: Mapping[str, str], dataset: str = "", path: str = "") -> None:
    """Refuse two cogfit columns naming one raw column: a :class:`ConfigError` naming the
    config key ``datasets.<dataset>.columns`` (without a dataset name: the file ``path``)."""
    seen: dict[str, str] = {}  # raw column -> the cogfit column naming it first
    for column, raw in columns.items():
        if raw in seen:
            where = f"columns for {path}"
            if dataset:
                where = f"config key {key_path(('datasets', dataset, 'columns'))}"
            raise ConfigError(
                f"{where}: {seen[raw]} and {column} both name raw column {raw!r}; "
                "each cogfit column needs its own"
            )
        seen[raw] = column


#: the columns every dataset may map besides its models' declared ones
KEY_COLUMNS = ("participant", "trial", "group", "block")


def declared_columns(dataset: str, specs: Iterable[ModelSpec]) -> tuple[ColumnSpec, ...]:
    """The trial columns the dataset's models read, each once (in first-declared order);
    two models declaring one name differently are a :class:`ConfigError`."""
    merged: dict[str, tuple[ColumnSpec, str]] = {}
    for spec in specs:
        for column in spec.columns:
            if column.name not in merged:
                merged[column.name] = (column, spec.name)
                continue
            first, owner = merged[column.name]
            if _meaning(first) != _meaning(column):
                raise ConfigError(
                    f"datasets.{dataset}.models: {owner} and {spec.name} both read a column "
                    f"{column.name!r} but mean different things by it ({_what(first)} vs "
                    f"{_what(column)}); fit them in separate datasets"
                )
    return tuple(column for column, _ in merged.values())


def _meaning(column: ColumnSpec) -> tuple:
    return (column.kind, column.response, column.missing, column.levels, column.values)


def _what(column: ColumnSpec) -> str:
    levels = f", {column.levels} levels" if column.levels else ""
    role = "response" if column.response else "input"
    return f"{column.kind} {role}{levels}{', may be empty' if column.missing else ''}"


def check_mapping(
    dataset: str,
    ds: Mapping[str, Any],
    declared: tuple[ColumnSpec, ...],
    readers: Mapping[str, list[str]],
) -> None:
    """Every declared column is mapped to a raw column, nothing else is (a typo would be
    ignored), and ``column_bases``/``scale`` name columns they apply to: one
    :class:`ConfigError` line naming the config key. ``readers``: column -> the models
    reading it."""
    key = key_path(("datasets", dataset, "columns"))
    mapping = ds.get("columns") or {}
    kinds = {c.name: c for c in declared}
    for column in declared:
        if column.name not in mapping:
            raise ConfigError(
                f"config key {key}: no raw column for {column.name!r} ({column.description}), "
                f"which {', '.join(readers[column.name])} read(s); add {column.name}: <raw "
                "column name>"
            )
    for name in mapping:
        if name not in kinds and name not in KEY_COLUMNS:
            raise ConfigError(
                f"config key {key}.{name}: no model of this dataset reads a column {name!r}; "
                f"they read {sorted(kinds)} (and {list(KEY_COLUMNS)})"
            )
    _check_per_column(dataset, ds, "column_bases", kinds, ("option", "code"), "numbered options")
    _check_per_column(dataset, ds, "scale", kinds, ("real",), "real values")


def _check_per_column(
    dataset: str,
    ds: Mapping[str, Any],
    setting: str,
    kinds: Mapping[str, ColumnSpec],
    applies: tuple[str, ...],
    what: str,
) -> None:
    for name in ds.get(setting) or {}:
        column = kinds.get(name)
        numbered = column is not None and column.kind in applies and not column.values
        if not numbered:
            raise ConfigError(
                f"config key {key_path(('datasets', dataset, setting, name))}: {setting} "
                f"applies to columns of {what}; the models' are "
                f"{sorted(c for c, s in kinds.items() if s.kind in applies and not s.values)}"
            )
