"""Config sections -> frozen settings dataclasses, checked against the config schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from cogfit.errors import ConfigError
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


def settings_from_mapping(cls: type[T], cfg: Mapping[str, Any] | None, what: str) -> T:
    """Build a settings dataclass from config; unknown keys are typos the user must see.

    Checks types only, not the schema's limits: use :func:`settings_from_section`.
    """
    cfg = dict(cfg or {})
    known = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise ConfigError(f"unknown {what} setting(s) {unknown}; expected some of {sorted(known)}")
    values = {k: _coerce(v, known[k], f"{what}.{k}") for k, v in cfg.items()}
    return cls(**values)


def _coerce(value: Any, default: Any, name: str) -> Any:
    """Cast a YAML value to the type of its default, refusing silent surprises (bool("no"))."""
    if default is None or value is None:
        return value
    kind = type(default)
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        if kind is int and value != int(value):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        return kind(value)
    if not isinstance(value, kind):
        raise ConfigError(f"{name} must be a {kind.__name__}, got {value!r}")
    return value
