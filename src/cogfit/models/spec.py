"""What a model is, as plain data: its parameters with their links and default priors, the
trial columns it reads, its description, latent quantities and reference. No JAX here:
the config checks, the Snakefile and the report read these without importing it
(:mod:`cogfit.models.base` adds the step functions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cogfit.errors import ConfigError
from cogfit.links import LINKS
from cogfit.names import SEQUENCE_ORDER, SEQUENCE_SLOT

#: the keys a dataset's ``priors`` may override per parameter
PRIOR_KEYS = ("link", "upper", "mean_loc", "mean_scale", "sd_scale", "sd_prior")
#: the priors a group sd may take (its scale: ``sd_scale``), by config name -> the name the
#: report writes; hBayesDM gives some unbounded parameters a half-Cauchy sd
SD_PRIORS = {"half_normal": "HalfNormal", "half_cauchy": "HalfCauchy"}
#: a parameter's sd prior unless its spec or the config says otherwise (and that of fits
#: recorded before ``sd_prior`` existed)
DEFAULT_SD_PRIOR = "half_normal"
#: what a trial column holds: an option index (0-based once cleaned), a 0/1 response, a
#: real number, or an integer code (a cue, a stimulus pair)
COLUMN_KINDS = ("option", "binary", "real", "code")
#: the cleaned table's own columns, which no model may declare
RESERVED_COLUMNS = (
    "participant",
    "group",
    "trial",
    "block",
    "missed",
    "valid",
    "reset",
    "block_start",
    "group_index",
    SEQUENCE_ORDER,
    SEQUENCE_SLOT,
)


@dataclass(frozen=True)
class ColumnSpec:
    """One per-trial column a model reads, under the name the config maps a raw column to.

    ``response``: an observed response the likelihood scores (the others are inputs: an
    outcome, a cue). ``missing``: the cell may be empty on an answered trial, and the model
    reads ``has_<name>`` (:func:`cogfit.names.observed_key`) to know; an empty required
    response makes the trial missed (``valid`` False), and a required input must be there
    on every answered trial. ``levels``: the number of options (``option``; None: the
    dataset's ``n_options``) or of codes (``code``: 0..levels-1 once cleaned, numbered from
    the dataset's base in the raw file); a ``code`` without levels lists its allowed raw
    ``values``, kept as they are.
    """

    name: str
    kind: str
    description: str
    response: bool = False
    missing: bool = False
    levels: int | None = None
    values: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ConfigError(
                f"column {self.name!r}: unknown kind {self.kind!r}; expected one of "
                f"{list(COLUMN_KINDS)}"
            )
        if self.name in RESERVED_COLUMNS or self.name.startswith("has_"):
            raise ConfigError(
                f"column {self.name!r}: a name cogfit uses itself; expected another name "
                f"(not {list(RESERVED_COLUMNS)} nor has_*)"
            )
        if self.kind == "code" and self.levels is None and not self.values:
            raise ConfigError(f"code column {self.name!r}: give its levels or its values")
        if self.response and self.kind not in ("option", "binary"):
            raise ConfigError(f"column {self.name!r}: a response is an option or a binary column")

    def n_levels(self, n_options: int) -> int:
        """How many values the cleaned column takes (options, codes; 2 for binary)."""
        if self.kind == "binary":
            return 2
        if self.kind == "option" and self.levels is None:
            return n_options
        return int(self.levels or 0)


@dataclass(frozen=True)
class ParamSpec:
    """One behavioural parameter: its link and the default hierarchical prior.

    The prior is on the unconstrained scale: ``mu ~ Normal(mean_loc, mean_scale)``,
    ``sigma ~ HalfNormal(sd_scale)`` (or ``HalfCauchy(sd_scale)``: ``sd_prior``, a key of
    :data:`SD_PRIORS`); ``theta = link(mu + offset * sigma)``.
    """

    name: str
    link: str
    upper: float | None = None
    mean_loc: float = 0.0
    mean_scale: float = 1.0
    sd_scale: float = 0.5
    description: str = ""
    sd_prior: str = DEFAULT_SD_PRIOR

    def __post_init__(self) -> None:
        if self.link not in LINKS:
            raise ConfigError(f"parameter {self.name!r}: unknown link {self.link!r}")
        if self.mean_scale <= 0 or self.sd_scale <= 0:
            raise ConfigError(f"parameter {self.name!r}: prior scales must be positive")
        if self.sd_prior not in SD_PRIORS:
            raise ConfigError(
                f"parameter {self.name!r}: unknown sd_prior {self.sd_prior!r}; expected one "
                f"of {list(SD_PRIORS)}"
            )

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
    associative scan applies), ``reference`` (the paper its equations come from),
    ``columns`` (the trial columns it reads; the first response is the primary one,
    which the stages report), ``block_reset`` (its state starts afresh at each new block),
    ``stateless`` (no state carried between trials: one-shot choices, scored without a
    scan), ``state_per`` (a code column whose levels keep independent states: see
    below) and ``implementation`` (``module:attribute`` of its
    :class:`~cogfit.models.base.BehaviouralModel`; for a model in a user's file, its
    ``file.py:name`` entry).

    ``state_per``: when each level of a code column (a cue, a stimulus) has its own state
    that only its trials change and read, the step functions are written for ONE level:
    they see that level's trials in order, with a state of its own. The likelihood then
    runs the levels side by side as sequences (:mod:`cogfit.likelihood`): a shorter loop
    with a smaller state than one state for every level stepping through all trials.
    """

    name: str
    description: str
    task: str
    params: tuple[ParamSpec, ...]
    latent_names: tuple[str, ...]
    affine: bool
    reference: str
    implementation: str = ""
    columns: tuple[ColumnSpec, ...] = ()
    block_reset: bool = False
    stateless: bool = False
    state_per: str | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ConfigError(f"model {self.name!r}: a column is declared twice in {names}")
        if not self.responses:
            raise ConfigError(f"model {self.name!r}: no response column among {names}")
        if self.state_per is not None:
            self._check_state_per(names)

    def _check_state_per(self, names: list[str]) -> None:
        """``state_per`` names a code column with levels that every answered trial has."""
        where = f"model {self.name!r}: state_per {self.state_per!r}"
        if self.stateless:
            raise ConfigError(f"{where}: a stateless model has no state to split")
        if self.state_per not in names:
            raise ConfigError(f"{where} is not one of its columns {names}")
        column = self.column(self.state_per)
        if column.kind != "code" or column.levels is None or column.missing or column.response:
            raise ConfigError(
                f"{where}: expected a code column with levels, never empty on an answered "
                "trial, and not a response"
            )

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def responses(self) -> tuple[str, ...]:
        """The response columns, the primary one first."""
        return tuple(c.name for c in self.columns if c.response)

    def column(self, name: str) -> ColumnSpec:
        """The declared column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"model {self.name!r} declares no column {name!r}")

    def with_priors(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> ModelSpec:
        """Per-parameter prior/link overrides applied (:func:`with_priors`)."""
        return dataclasses.replace(self, params=with_priors(self.params, overrides))

    def with_block_reset(self, setting: str) -> ModelSpec:
        """As a dataset's ``block_reset`` says: ``model`` (the spec's own), ``always`` or
        ``never``."""
        if setting not in ("model", "always", "never"):
            raise ConfigError(f"block_reset {setting!r}: expected model, always or never")
        reset = self.block_reset if setting == "model" else setting == "always"
        return dataclasses.replace(self, block_reset=reset)
