"""What a model is, as plain data: its parameters with their links and default priors, its
description, latent quantities and reference. No JAX here: the config checks, the
Snakefile and the report read these without importing it (:mod:`cogfit.models.base` adds
the step functions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cogfit.errors import ConfigError
from cogfit.links import LINKS

#: the keys a dataset's ``priors`` may override per parameter
PRIOR_KEYS = ("link", "upper", "mean_loc", "mean_scale", "sd_scale")


@dataclass(frozen=True)
class ParamSpec:
    """One behavioural parameter: its link and the default hierarchical prior.

    The prior is on the unconstrained scale: ``mu ~ Normal(mean_loc, mean_scale)``,
    ``sigma ~ HalfNormal(sd_scale)``; ``theta = link(mu + offset * sigma)``.
    """

    name: str
    link: str
    upper: float | None = None
    mean_loc: float = 0.0
    mean_scale: float = 1.0
    sd_scale: float = 0.5
    description: str = ""

    def __post_init__(self) -> None:
        if self.link not in LINKS:
            raise ConfigError(f"parameter {self.name!r}: unknown link {self.link!r}")
        if self.mean_scale <= 0 or self.sd_scale <= 0:
            raise ConfigError(f"parameter {self.name!r}: prior scales must be positive")

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> ParamSpec:
        """A copy with config overrides (the keys of :data:`PRIOR_KEYS`)."""
        if not overrides:
            return self
        unknown = set(overrides) - set(PRIOR_KEYS)
        if unknown:
            raise ConfigError(
                f"prior override for {self.name!r}: unknown key(s) {sorted(unknown)}; "
                f"expected some of {sorted(PRIOR_KEYS)}"
            )
        return dataclasses.replace(self, **dict(overrides))


def with_priors(
    params: tuple[ParamSpec, ...], overrides: Mapping[str, Mapping[str, Any]] | None
) -> tuple[ParamSpec, ...]:
    """``params`` with per-parameter overrides applied; overrides of absent ones ignored."""
    if not overrides:
        return params
    return tuple(p.with_overrides(overrides.get(p.name)) for p in params)


@dataclass(frozen=True)
class ModelSpec:
    """A model's metadata: ``name`` (its config name), ``description``, ``task`` (the
    kind of task it is for), ``params``, ``latent_names`` (the trial-wise quantities its
    regressors report), ``affine`` (its state update is affine in the state, so the
    associative scan applies), ``reference`` (the paper its equations come from) and
    ``implementation`` (``module:attribute`` of its
    :class:`~cogfit.models.base.BehaviouralModel`; empty for a model in a user's file,
    which is found by its name)."""

    name: str
    description: str
    task: str
    params: tuple[ParamSpec, ...]
    latent_names: tuple[str, ...]
    affine: bool
    reference: str
    implementation: str = ""

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def with_priors(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> ModelSpec:
        """Per-parameter prior/link overrides applied (:func:`with_priors`)."""
        return dataclasses.replace(self, params=with_priors(self.params, overrides))
