"""Config validation, cross-checks that a schema cannot express, and path helpers."""

import re
import sys

from cogfit.config import check_config, fit_code_hash
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


def dataset_cfg(wildcards):
    return config["datasets"][wildcards.dataset]


def fits():
    """(dataset, model) pairs named by the config."""
    return [(d, m) for d in DATASETS for m in config["datasets"][d]["models"]]


def all_diagnostics():
    return [f"{RESULTS}/{d}/{m}/diagnostics.parquet" for d, m in fits()]


def all_contrasts():
    return [f"{RESULTS}/{d}/{m}/contrasts.parquet" for d, m in fits()]


def fit_gpus():
    """Fit jobs ask for a GPU unless the config pins them to the CPU."""
    return 0 if config["sampler"]["device"] == "cpu" else 1


def fit_env():
    """CUDA-enabled JAX for fits that may use a GPU; the plain CPU environment otherwise."""
    cpu_only = config["sampler"]["device"] == "cpu"
    return "../../envs/cogfit.yaml" if cpu_only else "../../envs/cogfit-cuda.yaml"
