"""The example dataset of every task family: what its simulator writes, cleaned and
checked by its config, and three tasks unlike a bandit (a binary response with cues, two
responses per trial, one-shot choices) through every stage of the pipeline."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import TINY_ANALYSES, TINY_SAMPLER, make_workdir, snakemake

from cogfit.clean import CleaningSpec, clean
from cogfit.config import check_config
from cogfit.data import task_data_from_trials
from cogfit.models import get_spec
from cogfit.schema import validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def _maker():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(
        "make_examples", REPO / "data/examples/make_examples.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_examples"] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
FAMILIES = sorted(MAKER.EXAMPLES)


def example_config(family: str) -> dict:
    cfg = yaml.safe_load((REPO / f"config/examples/{family}.yaml").read_text(encoding="utf-8"))
    validate_config(cfg, SCHEMA)
    return cfg


def test_the_examples_are_what_the_simulators_write(tmp_path: Path) -> None:
    MAKER.main(tmp_path, tmp_path)
    for family in FAMILIES:
        for name in (f"{family}.csv", f"{family}_truth.csv"):
            assert (tmp_path / name).read_bytes() == (REPO / "data/examples" / name).read_bytes()
        written = (tmp_path / f"{family}.yaml").read_bytes()
        assert written == (REPO / f"config/examples/{family}.yaml").read_bytes()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_example_config_fits_its_data(family: str) -> None:
    cfg = example_config(family)
    check_config(cfg)  # every model's columns mapped, nothing unread
    ((name, dataset),) = cfg["datasets"].items()
    assert len({get_spec(m).task for m in dataset["models"]}) == 1  # one task's models
    dataset = dict(dataset, path=str(REPO / dataset["path"]))
    trials, participants = clean(CleaningSpec.from_config(name, dataset))
    truth = pd.read_csv(REPO / f"data/examples/{family}_truth.csv", dtype={"participant": str})
    assert not participants["excluded"].any()
    assert sorted(truth["participant"]) == sorted(participants["participant"])
    data = task_data_from_trials(trials, dataset.get("n_options", 2))
    assert data.n_participants == len(truth) and data.mask.mean() > 0.9
    fitted = {p.name for m in dataset["models"] for p in get_spec(m).params}
    assert set(truth.columns) - {"participant"} <= fitted  # the truth of a fitted model


@pytest.mark.slow
def test_three_other_tasks_get_every_stage(tmp_path: Path) -> None:
    """Go/no-go (a binary response and cues), the two-step task (two responses, the second
    may be missing) and delay discounting (no state) through fit, comparison, checks,
    regressors, figures and the report."""
    datasets = {}
    for family, models in (
        ("gng", ["gng_m1", "gng_m2"]),
        ("ts", ["ts_par4"]),
        ("dd", ["dd_hyperbolic"]),
    ):
        ((name, dataset),) = example_config(family)["datasets"].items()
        datasets[name] = {**dataset, "models": models}
    work = make_workdir(tmp_path, datasets=datasets, contrasts={}, **TINY_ANALYSES)
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    assert config["sampler"] == TINY_SAMPLER
    snakemake(work)
    results = work / "results"
    ppc = pd.read_parquet(results / "gng/gng_m2/ppc.parquet")
    curve = ppc[ppc["statistic"] == "learning_curve"]
    assert (curve["condition"] == "pressed = 1").all() and curve["observed"].between(0, 1).all()
    people = ppc[ppc["statistic"] == "participant"]
    assert len(people) == 20 and people["p_value"].between(0, 1).all()
    regressors = pd.read_parquet(results / "gng/gng_m1/regressors.parquet")
    assert {"cue", "pressed", "outcome", "p_choice", "q_go", "prediction_error"} <= set(regressors)
    comparison = pd.read_parquet(results / "gng/model_comparison.parquet")
    assert set(comparison["model"]) == {"gng_m1", "gng_m2"} and comparison["elpd"].notna().all()
    ts = az.from_netcdf(results / "ts/ts_par4/posterior.nc")
    assert {"choice1", "choice2"} <= set(ts.observed_data.data_vars)
    assert (ts.observed_data["choice2"].values == -1).any()  # missing second choices kept
    ts_ppc = pd.read_parquet(results / "ts/ts_par4/ppc.parquet")
    assert ts_ppc.loc[ts_ppc["statistic"] == "participant", "p_value"].notna().all()
    dd = pd.read_parquet(results / "dd/dd_hyperbolic/regressors.parquet")
    assert np.isfinite(dd.loc[~dd["missed"], "p_choice"]).all()
    report = (results / "report/index.html").read_text(encoding="utf-8")
    for model in ("gng_m1", "gng_m2", "ts_par4", "dd_hyperbolic"):
        assert model in report


@pytest.mark.slow
def test_snakemake_plans_every_example(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    for family in FAMILIES:
        out = snakemake(work, "-n", "--configfile", f"config/examples/{family}.yaml").stdout
        models = example_config(family)["datasets"][family]["models"]
        for model in models:
            assert f"results/examples/{family}/{family}/{model}/posterior.nc" in out, family


def test_an_unmapped_column_stops_snakemake_in_one_line(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    cfg = example_config("gng")
    del cfg["datasets"]["gng"]["columns"]["cue"]
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("config key datasets.gng.columns: no raw column for 'cue'")
    assert "gng_m1, gng_m2, gng_m3, gng_m4 read(s)" in message
