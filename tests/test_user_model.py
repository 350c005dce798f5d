"""A model in a file of the user's project: the worked example of docs/adding-a-model.md,
exactly as written there, fitted through every stage by Snakemake; bad entries fail in one
line before any job."""

from __future__ import annotations

import re
from pathlib import Path

import arviz as az
import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, jobs_planned, make_workdir, snakemake

from cogfit.config import check_config
from cogfit.errors import ConfigError
from cogfit.models import get_model
from cogfit.schema import validate_config

GUIDE = REPO / "docs/adding-a-model.md"
ENTRY = "my_models.py:rw_forget"


def guide_file() -> str:
    """The guide's ``my_models.py``: its code block that defines ``SPEC``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    (code,) = [b for b in blocks if "\nSPEC = ModelSpec(" in b]
    return code


def guide_config() -> dict:
    """The guide's ``models`` and ``priors``, from its YAML block."""
    (block,) = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    return yaml.safe_load(block)["datasets"]["mystudy"]


def checked(tmp_path: Path, models: list[str], files: dict[str, str]) -> None:
    """The example config with ``models``, checked as the Snakefile checks it, in a
    directory holding ``files``."""
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["datasets"]["example"]["models"] = models
    validate_config(cfg, REPO / "workflow/schemas/config.schema.yaml")
    check_config(cfg)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_guides_file_defines_the_model(in_tmp: Path) -> None:
    (in_tmp / "my_models.py").write_text(guide_file(), encoding="utf-8")
    model = get_model(ENTRY)
    assert model.name == "rw_forget" and model.param_names == ("alpha", "phi", "beta")
    assert model.linear is not None and model.latent_names == ("value", "prediction_error")
    checked(in_tmp, ["rw", ENTRY], {})


@pytest.mark.parametrize(
    ("models", "files", "expected"),
    [
        (["rw", "nofile.py:rw_forget"], {}, "model 'nofile.py:rw_forget': no file 'nofile.py'"),
        (
            ["my_models.py:rw_other"],
            {"my_models.py": "GUIDE"},
            "'my_models.py' defines no model named 'rw_other'; models in it: ['rw_forget']",
        ),
        (
            ["broken.py:m"],
            {"broken.py": "import no_such_package\n"},
            "'broken.py' fails to import: ModuleNotFoundError: No module named",
        ),
        (
            ["rw", "clash.py:rw"],
            {"clash.py": "GUIDE_AS_RW"},
            "'rw' is a built-in model's name",
        ),
        (["rw_forget"], {}, "unknown model 'rw_forget'; known models: ['banditNarm_2par_lapse'"),
    ],
)
def test_a_bad_entry_fails_in_one_line(
    in_tmp: Path, models: list[str], files: dict[str, str], expected: str
) -> None:
    texts = {"GUIDE": guide_file(), "GUIDE_AS_RW": guide_file().replace('"rw_forget"', '"rw"')}
    files = {name: texts.get(text, text) for name, text in files.items()}
    with pytest.raises(ConfigError) as info:
        checked(in_tmp, models, files)
    message = str(info.value)
    assert message.startswith("datasets.example.models: ") and "\n" not in message
    assert expected in message


@pytest.mark.slow
def test_the_guides_model_gets_every_stage(tmp_path: Path) -> None:
    """The guide's file and entry next to rw: fitted, compared, checked and reported; an
    edit of the file reruns its fit and nothing of rw."""
    work = make_workdir(tmp_path)
    (work / "my_models.py").write_text(guide_file(), encoding="utf-8")
    cfg_path = work / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    guide = guide_config()
    assert guide["models"] == ["rw", ENTRY]
    cfg["datasets"]["example"].update(models=guide["models"], priors=guide["priors"])
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(work)
    results = work / "results/example"
    posterior = az.from_netcdf(results / "rw_forget/posterior.nc").posterior
    assert (posterior.attrs["model"], posterior.attrs["model_source"]) == ("rw_forget", ENTRY)
    assert {"phi_mu", "phi_sigma", "phi_offset", "phi"} <= set(posterior.data_vars)
    table = pd.read_parquet(results / "model_comparison.parquet")
    assert set(table["model"]) == {"rw", "rw_forget"} and table["elpd"].notna().all()
    regressors = pd.read_parquet(results / "rw_forget/regressors.parquet")
    assert {"prediction_error", "p_choice"} <= set(regressors.columns)
    assert regressors["prediction_error"].notna().mean() > 0.9  # NaN where no choice
    for name in ("ppc.parquet", "contrasts.parquet", "diagnostics.parquet"):
        assert len(pd.read_parquet(results / "rw_forget" / name)) > 0
    assert "rw_forget" in (work / "results/report/index.html").read_text(encoding="utf-8")
    with (work / "my_models.py").open("a", encoding="utf-8") as f:
        f.write("# an edit\n")
    dry_run = snakemake(work, "-n").stdout
    assert jobs_planned(dry_run).get("fit") == 1
    assert "output: results/example/rw_forget/posterior.nc" in dry_run
    assert "output: results/example/rw/posterior.nc" not in dry_run
