"""A dataset's column mapping: which raw column each cogfit column reads. Plain Python (no
NumPy or pandas), so the config check runs where Snakemake parses the workflow, in a
driver environment with nothing but Snakemake."""

from __future__ import annotations

from collections.abc import Mapping

from cogfit.errors import ConfigError
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
