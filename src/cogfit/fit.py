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
from cogfit.models import get_model
from cogfit.models.user import is_file_entry
from cogfit.packaging import to_inference_data
from cogfit.sampling import sample_posterior
from cogfit.settings import settings_from_section

LOG = logging.getLogger("cogfit.fit")


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings: the config's ``sampler`` section, one field per key.

    What each key means, its allowed values and its default are the config schema's
    (``config/README.md``); :meth:`from_config` holds a section to them, and a test keeps
    the defaults here equal to the schema's. Built directly, the fields are not checked.
    """

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    seed: int = 2026
    device: str = "auto"
    precision: str = "float32"
    scan: str = "auto"
    init: str = "advi"
    metric: str = "auto"
    cpu_chunk_trials: int = 100_000

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> SamplerSettings:
        """From the config's ``sampler`` mapping, checked against its schema (a one-line
        :class:`~cogfit.errors.ConfigError` naming the key); missing keys take the
        schema's defaults."""
        return settings_from_section(cls, "sampler", cfg)


def fit(
    model_name: str,
    data: TaskData,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    dataset: str = "",
    log: logging.Logger = LOG,
    block_reset: str = "model",
) -> Any:
    """Fit ``model_name`` (a built-in name or a ``file.py:name`` entry) to ``data`` and
    return InferenceData; ``block_reset``: the dataset's setting."""
    model = get_model(model_name).with_priors(priors).with_block_reset(block_reset)
    mcmc, timings = sample_posterior(model, data, settings, log)
    source = model_name if is_file_entry(model_name) else ""
    return to_inference_data(model, mcmc, data, settings, timings, dataset, source)


def _held_out_fold(
    data: TaskData, fold: int, n_folds: int, seed: int, log: logging.Logger
) -> tuple[TaskData, dict[str, Any]]:
    """The data of fold ``fold`` (held-out participants masked) and the attributes that
    record it."""
    import json

    from cogfit.folds import assign_folds, fold_data, held_out

    out = held_out(assign_folds(data.participants, data.group_index, n_folds, seed), fold)
    ids = [p for p, o in zip(data.participants, out, strict=True) if o]
    log.info("fold %d of %d: %d participants held out", fold, n_folds, len(ids))
    return fold_data(data, out), {"fold": fold, "n_folds": n_folds, "held_out": json.dumps(ids)}


def run_fit(
    trials_path: str,
    out_path: str,
    dataset: str,
    model_name: str,
    n_options: int,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]] | None = None,
    fold: tuple[int, int] | None = None,
    log: logging.Logger = LOG,
    block_reset: str = "model",
) -> None:
    """Read cleaned trials, fit, and write posterior.nc atomically (``block_reset``: the
    dataset's setting, see :func:`fit`).

    ``fold = (k, K)``: fold k of K-fold cross-validation by participant
    (:mod:`cogfit.folds`, seeded by ``settings.seed``): the fold's participants are held
    out (their trials masked) and recorded in the ``fold`` and ``held_out`` attributes."""
    import pandas as pd

    from cogfit.io import write_netcdf

    data = task_data_from_trials(pd.read_parquet(trials_path), n_options)
    attrs: dict[str, Any] = {}
    if fold is not None:
        data, attrs = _held_out_fold(data, *fold, settings.seed, log)
    idata = fit(model_name, data, settings, priors, dataset, log, block_reset)
    for group in ("posterior", "sample_stats", "log_likelihood"):
        getattr(idata, group).attrs.update(attrs)
    write_netcdf(idata, out_path)
    log.info("wrote %s", out_path)
