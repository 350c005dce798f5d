"""Checks of a validated config that a JSON schema cannot express, and the fit-code hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogfit.clean import check_columns
from cogfit.errors import ConfigError
from cogfit.links import check_link
from cogfit.models import SPECS


def check_config(config: Mapping[str, Any]) -> None:
    """Fail before any job starts on unknown models, prior overrides that match nothing,
    two cogfit columns read from one raw column, or contrasts of what is not fitted."""
    scan = config.get("sampler", {}).get("scan", "auto")
    for name, ds in config["datasets"].items():
        check_columns(ds.get("columns") or {}, name)
        for model in ds["models"]:
            if model not in SPECS:
                raise ConfigError(
                    f"datasets.{name}.models: unknown model {model!r}; "
                    f"known models: {sorted(SPECS)}"
                )
            if scan == "associative" and not SPECS[model].affine:
                raise ConfigError(
                    f"sampler.scan is 'associative' but model {model!r} (datasets.{name}) has "
                    "no affine state update; use scan: auto or sequential"
                )
        params = {p for m in ds["models"] for p in SPECS[m].param_names}
        for param in ds.get("priors") or {}:
            if param not in params:
                raise ConfigError(
                    f"datasets.{name}.priors: {param!r} is not a parameter of "
                    f"{ds['models']} (their parameters: {sorted(params)})"
                )
        for model in ds["models"]:
            # Build every overridden spec and its link now, so a bad combination
            # (e.g. scaled_probit without an upper bound) fails before any job.
            for spec in SPECS[model].with_priors(ds.get("priors")).params:
                try:
                    check_link(spec.link, spec.upper)
                except ConfigError as err:
                    raise ConfigError(f"datasets.{name}.priors.{spec.name}: {err}") from None
    _check_contrasts(config)


def _check_contrasts(config: Mapping[str, Any]) -> None:
    """Contrast pairs name datasets of the config, ROPEs parameters of a fitted model."""
    contrasts = config.get("contrasts") or {}
    for name in contrasts.get("pairs") or {}:
        if name not in config["datasets"]:
            raise ConfigError(
                f"config key contrasts.pairs.{name}: no dataset {name!r}; "
                f"datasets: {sorted(config['datasets'])}"
            )
    fitted = {m for ds in config["datasets"].values() for m in ds["models"]}
    params = {p for m in fitted for p in SPECS[m].param_names}
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
