"""The README's table of models, written from the specs (``python -m cogfit.model_table``
prints it; a test keeps the README's copy equal)."""

from __future__ import annotations

from cogfit.links import link_range
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ColumnSpec, ModelSpec, ParamSpec


def _param(spec: ParamSpec) -> str:
    """``alpha`` (probit, (0, 1))."""
    return f"`{spec.name}` ({spec.link}, {link_range(spec.link, spec.upper)})"


def _column(column: ColumnSpec) -> str:
    """``choice``* (option): a response starred, ``?`` where it may be empty."""
    mark = ("*" if column.response else "") + ("?" if column.missing else "")
    levels = f" {column.levels}" if column.levels else ""
    return f"`{column.name}`{mark} ({column.kind}{levels})"


def _row(spec: ModelSpec) -> str:
    params = ", ".join(_param(p) for p in spec.params)
    columns = ", ".join(_column(c) for c in spec.columns)
    return (
        f"| `{spec.name}` | {spec.description} | {spec.task} | {columns} | {params} | "
        f"{spec.reference} |"
    )


def models_table() -> str:
    """A Markdown table: each built-in model's name, description, task, trial columns
    (responses starred, ``?``: may be empty), parameters with their links and ranges, and
    reference."""
    lines = [
        "| name | what it is | task | columns | parameters (link, range) | reference |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(lines + [_row(spec) for spec in SPECS.values()])


if __name__ == "__main__":
    print(models_table())
