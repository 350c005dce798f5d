"""The README's table of models, written from the specs (``python -m cogfit.model_table``
prints it; a test keeps the README's copy equal)."""

from __future__ import annotations

from cogfit.links import link_range
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec, ParamSpec


def _param(spec: ParamSpec) -> str:
    """``alpha`` (probit, (0, 1))."""
    return f"`{spec.name}` ({spec.link}, {link_range(spec.link, spec.upper)})"


def _row(spec: ModelSpec) -> str:
    params = ", ".join(_param(p) for p in spec.params)
    return f"| `{spec.name}` | {spec.description} | {spec.task} | {params} | {spec.reference} |"


def models_table() -> str:
    """A Markdown table: each built-in model's name, description, task, parameters with
    their links and ranges, and reference."""
    lines = [
        "| name | what it is | task | parameters (link, range) | reference |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(lines + [_row(spec) for spec in SPECS.values()])


if __name__ == "__main__":
    print(models_table())
