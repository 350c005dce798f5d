"""The model library: metadata by config name (:data:`SPECS`, no JAX) and the models
themselves (:func:`get_model`, which imports a model's implementation when asked). A
config's ``models`` entry is a built-in name or ``file.py:name``, a model in a file of
the user's project (:mod:`cogfit.models.user`)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from cogfit.errors import ConfigError
from cogfit.models.catalog import SPECS
from cogfit.models.spec import ModelSpec, ParamSpec
from cogfit.models.user import is_file_entry, load_file_model

if TYPE_CHECKING:
    from cogfit.models.base import BehaviouralModel


def get_spec(name: str) -> ModelSpec:
    """A model's metadata by name; an unknown name lists the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {sorted(SPECS)}") from None


def get_model(entry: str) -> BehaviouralModel:
    """A model (its step functions; this imports JAX) by built-in name or file entry."""
    if is_file_entry(entry):
        return load_file_model(entry)
    module, attribute = get_spec(entry).implementation.split(":")
    return getattr(importlib.import_module(module), attribute)


def describe(entry: str) -> ModelSpec:
    """The metadata of a ``models`` entry: a built-in's spec (no JAX), or that of the
    model a file defines (importing the file)."""
    if not is_file_entry(entry):
        return get_spec(entry)
    model = load_file_model(entry)
    if model.name in SPECS:
        raise ConfigError(
            f"model {entry!r}: {model.name!r} is a built-in model's name; name yours otherwise"
        )
    return dataclasses.replace(model.spec, implementation=entry)


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
    "describe",
    "BehaviouralModel",
    "ModelSpec",
    "ParamSpec",
    "all_models",
    "get_model",
    "get_spec",
]
