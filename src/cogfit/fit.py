"""Fit a hierarchical model with NUTS and package the result as ArviZ InferenceData.

The public entry: :class:`SamplerSettings` (the config's ``sampler`` section), :func:`fit`
and :func:`run_fit`. The work is done by :mod:`cogfit.runtime` (where and how the fit
runs), :mod:`cogfit.metric` (which metric), :mod:`cogfit.sampling` (the NUTS phases) and
:mod:`cogfit.packaging` (the InferenceData).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cogfit.data import TaskData, task_data_from_trials
from cogfit.errors import ConfigError
from cogfit.likelihood import SCANS
from cogfit.metric import METRICS
from cogfit.models import get_model
from cogfit.packaging import to_inference_data
from cogfit.runtime import DEVICES, PRECISIONS
from cogfit.sampling import sample_posterior
from cogfit.settings import settings_from_mapping

LOG = logging.getLogger("cogfit.fit")
INITS = ("advi", "uniform")
#: the sampler settings that take one of a few words, and those words
CHOICES = {
    "device": DEVICES,
    "precision": PRECISIONS,
    "scan": ("auto", *SCANS),
    "init": INITS,
    "metric": METRICS,
}


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings; the config's ``sampler`` section maps onto these fields."""

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    seed: int = 2026
    device: str = "auto"  # auto | cpu | gpu
    precision: str = "float32"  # float32 | float64
    scan: str = "auto"  # auto | sequential | associative (models with an affine update)
    init: str = "advi"  # advi (start points + metric from a short ADVI fit) | uniform
    metric: str = "auto"  # auto | diag | dense | block (dense, block: from warm-up draws)
    cpu_block_trials: int = 100_000  # CPU likelihood blocks of about this many trials; 0: none

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"sampler.{name}: expected one of {list(allowed)}, got {value!r}")
        if self.cpu_block_trials < 0:
            raise ConfigError(
                "sampler.cpu_block_trials: expected 0 (no blocks) or a positive number "
                f"of trials, got {self.cpu_block_trials}"
            )

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SamplerSettings:
        return settings_from_mapping(cls, cfg, "sampler")


def fit(
    model_name: str,
    data: TaskData,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    dataset: str = "",
    log: logging.Logger = LOG,
) -> Any:
    """Fit ``model_name`` to ``data`` and return InferenceData."""
    model = get_model(model_name).with_priors(priors)
    mcmc, timings = sample_posterior(model, data, settings, log)
    return to_inference_data(model, mcmc, data, settings, timings, dataset)


def run_fit(
    trials_path: str,
    out_path: str,
    dataset: str,
    model_name: str,
    n_options: int,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    log: logging.Logger = LOG,
) -> None:
    """Read cleaned trials, fit, and write posterior.nc atomically."""
    import pandas as pd

    from cogfit.io import write_netcdf

    data = task_data_from_trials(pd.read_parquet(trials_path), n_options)
    idata = fit(model_name, data, settings, priors, dataset, log)
    write_netcdf(idata, out_path)
    log.info("wrote %s", out_path)
