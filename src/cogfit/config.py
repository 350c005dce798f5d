"""Checks of a validated config that a JSON schema cannot express, and the fit-code hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogfit.columns import check_columns, check_mapping, declared_columns
from cogfit.errors import ConfigError
from cogfit.links import check_link
from cogfit.models import SPECS, ModelSpec, describe
from cogfit.models.spec import ColumnSpec
from cogfit.models.user import is_file_entry

#: what a model's name may be: it is a path component and a Snakemake wildcard
MODEL_NAME = re.compile(r"[A-Za-z0-9_]+")


def check_config(config: Mapping[str, Any]) -> None:
    """Fail before any job starts on unknown models, prior overrides that match nothing,
    a trial column a model reads that is not mapped (or a mapped one no model reads), two
    cogfit columns read from one raw column, or contrasts of what is not fitted."""
    scan = config.get("sampler", {}).get("scan", "auto")
    fitted: set[str] = set()  # every parameter of a model fitted to some dataset
    for name, ds in config["datasets"].items():
        check_columns(ds.get("columns") or {}, name)
        specs = dataset_specs(name, ds)
        dataset_columns(name, ds, specs)
        if ds.get("block_reset") == "always" and "block" not in (ds.get("columns") or {}):
            raise ConfigError(
                f"config key datasets.{name}.block_reset: 'always' restarts the models at "
                "each block, but no block column is mapped (columns.block)"
            )
        fitted.update(p for spec in specs.values() for p in spec.param_names)
        for spec in specs.values():
            if scan == "associative" and not spec.affine:
                raise ConfigError(
                    f"sampler.scan is 'associative' but model {spec.name!r} (datasets.{name}) "
                    "has no affine state update; use scan: auto or sequential"
                )
        params = {p for spec in specs.values() for p in spec.param_names}
        for param in ds.get("priors") or {}:
            if param not in params:
                raise ConfigError(
                    f"datasets.{name}.priors: {param!r} is not a parameter of "
                    f"{ds['models']} (their parameters: {sorted(params)})"
                )
        for model in specs.values():
            # Build every overridden spec and its link now, so a bad combination
            # (e.g. scaled_probit without an upper bound) fails before any job.
            for spec in model.with_priors(ds.get("priors")).params:
                try:
                    check_link(spec.link, spec.upper)
                except ConfigError as err:
                    raise ConfigError(f"datasets.{name}.priors.{spec.name}: {err}") from None
    _check_contrasts(config, fitted)


def dataset_specs(name: str, ds: Mapping[str, Any]) -> dict[str, ModelSpec]:
    """Model name -> metadata of every entry of dataset ``name``'s ``models`` (built-in
    names or ``file.py:name``); a one-line ConfigError naming the config key for an
    unknown model, a file that does not define it, a name that is not a valid wildcard,
    or two entries of one name."""
    key = f"datasets.{name}.models"
    specs: dict[str, ModelSpec] = {}
    for entry in ds["models"]:
        if not is_file_entry(entry) and entry not in SPECS:
            raise ConfigError(
                f"{key}: unknown model {entry!r}; known models: {sorted(SPECS)}, or a model "
                "in a file of yours as path/to/file.py:model_name"
            )
        try:
            spec = describe(entry)
        except ConfigError as err:
            raise ConfigError(f"{key}: {err}") from None
        if not MODEL_NAME.fullmatch(spec.name):
            raise ConfigError(f"{key}: model name {spec.name!r}: expected letters, digits, _")
        if spec.name in specs:
            raise ConfigError(f"{key}: two entries name model {spec.name!r}")
        specs[spec.name] = spec
    return specs


def dataset_columns(
    name: str, ds: Mapping[str, Any], specs: Mapping[str, ModelSpec] | None = None
) -> tuple[ColumnSpec, ...]:
    """The trial columns dataset ``name``'s models read, checked against its column
    mapping (:func:`cogfit.columns.check_mapping`); ``specs``: its models', when known."""
    specs = dataset_specs(name, ds) if specs is None else specs
    readers: dict[str, list[str]] = {}
    for spec in specs.values():
        for column in spec.columns:
            readers.setdefault(column.name, []).append(spec.name)
    declared = declared_columns(name, specs.values())
    check_mapping(name, ds, declared, readers)
    return declared


def _check_contrasts(config: Mapping[str, Any], params: set[str]) -> None:
    """Contrast pairs name datasets of the config, ROPEs parameters of a fitted model
    (``params``)."""
    contrasts = config.get("contrasts") or {}
    for name in contrasts.get("pairs") or {}:
        if name not in config["datasets"]:
            raise ConfigError(
                f"config key contrasts.pairs.{name}: no dataset {name!r}; "
                f"datasets: {sorted(config['datasets'])}"
            )
    for param in contrasts.get("rope") or {}:
        if param not in params:
            raise ConfigError(
                f"config key contrasts.rope.{param}: not a parameter of a fitted model; "
                f"parameters: {sorted(params)}"
            )


#: Modules whose code decides what a fit computes (not how it is reported).
FIT_MODULES = (
    "data.py",
    "links.py",
    "likelihood.py",
    "names.py",
    "hierarchical.py",
    "warmstart.py",
    "progress.py",
    "segments.py",
    "numpyro_adapter.py",
    "runtime.py",
    "metric.py",
    "sampling.py",
    "packaging.py",
    "fit.py",
    "folds.py",
    "models",
)


def fit_code_hash() -> str:
    """Hash of the fitting code, so changed model code reruns fits and misses the cache."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in FIT_MODULES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]
