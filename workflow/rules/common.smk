"""Config validation, cross-checks that a schema cannot express, and path helpers."""

import re
import sys

from cogfit.config import check_config, fit_code_hash
from cogfit.models.user import entry_name, entry_path, is_file_entry
from cogfit.schema import validate_config
from cogfit.errors import ConfigError

try:
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
    check_config(config)
except ConfigError as err:
    # the one line alone, before any job: raised, it would come with a file/line header
    # and traceback lines that point at this file, not at the config
    sys.exit(str(err))

RESULTS = config["results"]
FIT_CODE_HASH = fit_code_hash()
DATASETS = sorted(config["datasets"])


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    model="[A-Za-z0-9_]+",
    fold="[0-9]+",


def dataset_cfg(wildcards):
    return config["datasets"][wildcards.dataset]


def model_entries(dataset):
    """Model name -> its ``models`` entry (a built-in name, or ``file.py:name``)."""
    return {entry_name(e): e for e in config["datasets"][dataset]["models"]}


def fits():
    """(dataset, model) pairs named by the config."""
    return [(d, m) for d in DATASETS for m in model_entries(d)]


def all_diagnostics():
    return [f"{RESULTS}/{d}/{m}/diagnostics.parquet" for d, m in fits()]


def dataset_models(dataset):
    """The names of the models fitted to ``dataset``, in config order."""
    return list(model_entries(dataset))


def model_entry(wildcards):
    """The ``models`` entry of the wildcards' model: what a fit job loads."""
    return model_entries(wildcards.dataset)[wildcards.model]


def model_file(wildcards):
    """``{"model_file": path}`` for a model in a user's file (its code is then an input
    of the fit: changing it reruns the fit, and it is part of the cache key), else {}."""
    entry = model_entry(wildcards)
    return {"model_file": str(entry_path(entry))} if is_file_entry(entry) else {}


def per_fit(name):
    """``results/{dataset}/{model}/{name}`` of every fit."""
    return [f"{RESULTS}/{d}/{m}/{name}" for d, m in fits()]


def all_analyses():
    """Every analysis artifact: per fit, and the model comparison of every dataset."""
    tables = [per_fit(n) for n in ("contrasts.parquet", "ppc.parquet", "regressors.parquet")]
    comparisons = [f"{RESULTS}/{d}/model_comparison.parquet" for d in DATASETS]
    return [path for paths in tables for path in paths] + comparisons


def compare_inputs(wildcards):
    """Model name -> its marginal likelihood file(s): the fit's, or one per fold."""
    models = dataset_models(wildcards.dataset)
    base = f"{RESULTS}/{wildcards.dataset}"
    if config["compare"]["method"] == "psis":
        return {m: f"{base}/{m}/marginal.nc" for m in models}
    folds = range(config["compare"]["folds"])
    return {m: [f"{base}/{m}/folds/{k}/marginal.nc" for k in folds] for m in models}


def fit_gpus():
    """Fit jobs ask for a GPU unless the config pins them to the CPU."""
    return 0 if config["sampler"]["device"] == "cpu" else 1


def fit_env():
    """CUDA-enabled JAX for fits that may use a GPU; the plain CPU environment otherwise."""
    cpu_only = config["sampler"]["device"] == "cpu"
    return "../../envs/cogfit.yaml" if cpu_only else "../../envs/cogfit-cuda.yaml"
