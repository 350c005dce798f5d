"""Config sections -> frozen settings dataclasses, with typos and type slips refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from cogfit.errors import ConfigError

T = TypeVar("T")


def settings_from_mapping(cls: type[T], cfg: Mapping[str, Any] | None, what: str) -> T:
    """Build a settings dataclass from config; unknown keys are typos the user must see."""
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
