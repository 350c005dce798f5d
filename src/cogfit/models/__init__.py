"""The model registry: behavioural models by their config name."""

from __future__ import annotations

from cogfit.errors import ConfigError
from cogfit.models.base import BehaviouralModel, ParamSpec
from cogfit.models.delta_rule import RW, RW_DUAL, RW_PERSEV

REGISTRY: dict[str, BehaviouralModel] = {m.name: m for m in (RW, RW_DUAL, RW_PERSEV)}


def get_model(name: str) -> BehaviouralModel:
    """Look a model up by name; an unknown name lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {sorted(REGISTRY)}") from None


__all__ = ["REGISTRY", "BehaviouralModel", "ParamSpec", "get_model"]
