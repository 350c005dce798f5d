"""A fit's draws packaged as ArviZ InferenceData: posterior, sample stats, the
log-likelihood of each draw, the data and the provenance of the fit."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from cogfit.data import TaskData, data_hash
from cogfit.names import (
    LEVELS,
    LOG_LIK_SITE,
    OBSERVED,
    PARAMETERS_ATTR,
    observed_key,
    parameters_text,
    site_names,
)

if TYPE_CHECKING:
    from cogfit.fit import SamplerSettings
    from cogfit.models import BehaviouralModel


def to_inference_data(
    model: BehaviouralModel,
    mcmc: Any,
    data: TaskData,
    settings: SamplerSettings,
    timings: Mapping[str, Any],
    dataset: str,
    source: str = "",
) -> Any:
    """Package draws, sample stats, log-likelihood, data and provenance as InferenceData;
    ``source``: the ``file.py:name`` entry of a model in a user's file."""
    import arviz as az

    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    log_lik = samples.pop(LOG_LIK_SITE)  # [chains, draws, P], computed with each draw
    extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    observed, constant = data_groups(model, data)
    idata = az.from_dict(
        posterior=samples,
        sample_stats=sample_stats(extra),
        observed_data=observed,
        constant_data=constant,
        coords={
            "group": list(data.groups),
            "participant": list(data.participants),
            "trial": np.arange(data.n_trials),
        },
        dims={
            **posterior_dims(model),
            **{k: ["participant", "trial"] for k in (*observed, *constant)},
            "group_index": ["participant"],
        },
    )
    # the observed variable is per participant in log_likelihood but per trial in
    # observed_data, so the log-likelihood group gets its own dims.
    idata.extend(
        az.from_dict(
            log_likelihood={OBSERVED: log_lik},
            coords={"participant": list(data.participants)},
            dims={OBSERVED: ["participant"]},
        )
    )
    attrs = provenance(model, data, settings, timings, dataset, source)
    for group in ("posterior", "sample_stats", "log_likelihood"):
        getattr(idata, group).attrs.update(attrs)
    return idata


def data_groups(model: BehaviouralModel, data: TaskData) -> tuple[dict, dict]:
    """The fit's data as InferenceData groups: ``observed_data`` the model's responses
    (-1 where there is none), ``constant_data`` every other trial array, the block starts
    and the participants' groups (:func:`cogfit.fitted.fit_data` reads them back)."""
    observed = {
        r: np.where(data.mask & data.trials[observed_key(r)], data.trials[r], -1).astype(np.int32)
        for r in model.responses
    }
    constant = {k: v for k, v in data.trials.items() if k not in observed}
    constant.update(block_start=data.block_start, group_index=data.group_index)
    return observed, constant


def posterior_dims(model: BehaviouralModel) -> dict[str, list[str]]:
    """The dimension of every posterior variable: per group or per participant."""
    return {
        variable: [LEVELS[role]]
        for name in model.param_names
        for role, variable in site_names(name).items()
    }


def sample_stats(extra: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """ArviZ's sample stats from the kernel fields collected with each draw
    (:data:`cogfit.sampling.EXTRA_FIELDS`)."""
    n_steps = extra["num_steps"].astype(np.int64)
    return {
        "diverging": extra["diverging"].astype(bool),
        "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(np.int64) + 1,
        "energy": extra["energy"],
        "lp": -extra["potential_energy"],
        "acceptance_rate": extra["accept_prob"],
        "step_size": extra["adapt_state.step_size"],
    }


def provenance(
    model: BehaviouralModel,
    data: TaskData,
    settings: SamplerSettings,
    timings: Mapping[str, Any],
    dataset: str,
    source: str = "",
) -> dict[str, Any]:
    """What was fitted (``source``: a user file's model entry, else empty), to which data,
    with which software, settings and runtime, and how long it took: the attributes of
    every group."""
    import arviz as az
    import jax
    import numpyro

    import cogfit

    return {
        "model": model.name,
        "model_source": source,
        "dataset": dataset,
        PARAMETERS_ATTR: parameters_text(model.param_names),
        "priors": json.dumps([asdict(p) for p in model.params]),
        "block_reset": int(model.spec.block_reset),
        "n_options": data.n_options,
        "cogfit_version": cogfit.__version__,
        "jax_version": jax.__version__,
        "numpyro_version": numpyro.__version__,
        "arviz_version": az.__version__,
        "device": str(timings["device"]),
        "platform": str(timings["platform"]),
        "chain_method": str(timings["chain_method"]),
        "scan": str(timings["scan"]),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "precision": settings.precision,
        "seed": settings.seed,
        "max_tree_depth": settings.max_tree_depth,
        "sampler_settings": json.dumps(asdict(settings)),
        "data_hash": data_hash(data),
        "model_hash": model.spec_hash(),
        "warmup_s": float(timings["warmup_s"]),
        "sampling_s": float(timings["sampling_s"]),
        "wall_time_s": float(timings["wall_time_s"]),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
