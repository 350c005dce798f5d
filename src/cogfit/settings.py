"""Config sections -> frozen settings dataclasses, checked against the config schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from cogfit.schema import KeyPath, validate_section

T = TypeVar("T")


def settings_from_section(cls: type[T], section: KeyPath, cfg: Mapping[str, Any] | None) -> T:
    """A settings dataclass from its config section (None: an empty one).

    The section is checked against its schema (unknown keys, types, limits: a one-line
    :class:`ConfigError` naming the key) and the schema's defaults are filled in, so the
    schema is the one source of both. Keys that are no field of ``cls`` (``report.title``)
    are read elsewhere and left out; a whole number in a float field becomes a float.
    """
    values = validate_section(section, {} if cfg is None else cfg)
    kinds = {f.name: type(f.default) for f in fields(cls)}  # type: ignore[arg-type]
    picked = {k: v for k, v in values.items() if k in kinds}
    for key, value in picked.items():
        if kinds[key] is float and type(value) is int:
            picked[key] = float(value)
    return cls(**picked)
