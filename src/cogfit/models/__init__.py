"""The model library: metadata by config name (:data:`SPECS`, no JAX) and the models
themselves (:func:`get_model`, which imports a model's implementation when asked)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cogfit.errors import ConfigError
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec, ParamSpec

if TYPE_CHECKING:
    from cogfit.models.base import BehaviouralModel


def get_spec(name: str) -> ModelSpec:
    """A model's metadata by name; an unknown name lists the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {sorted(SPECS)}") from None


def get_model(name: str) -> BehaviouralModel:
    """A model (its step functions; this imports JAX) by name."""
    module, attribute = get_spec(name).implementation.split(":")
    return getattr(importlib.import_module(module), attribute)


def all_models() -> dict[str, BehaviouralModel]:
    """Every built-in model by name (imports JAX)."""
    return {name: get_model(name) for name in SPECS}


def __getattr__(name: str) -> Any:
    """``BehaviouralModel`` on first use: importing it imports JAX."""
    if name == "BehaviouralModel":
        from cogfit.models.base import BehaviouralModel

        return BehaviouralModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SPECS",
    "BehaviouralModel",
    "ModelSpec",
    "ParamSpec",
    "all_models",
    "get_model",
    "get_spec",
]
