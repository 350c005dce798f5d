"""Model metadata without JAX: the specs are plain data, parsing the workflow imports no
JAX, and each implementation takes its metadata from its spec."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_helpers import make_workdir, snakemake_env

from cogfit.errors import ConfigError
from cogfit.links import link_range
from cogfit.model_table import models_table
from cogfit.models import SPECS, all_models, get_spec
from cogfit.models.base import implement

#: run in a fresh interpreter: a dry run of the workflow through Snakemake's own CLI
#: entry with the scientific stack unimportable (a driver environment with only
#: Snakemake), then which JAX modules it imported
PARSE = """
import importlib.abc, json, sys

class Blocked(importlib.abc.MetaPathFinder):  # what a driver with only Snakemake lacks
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked in this test: {name}")

BLOCKED = {"jax", "jaxlib", "numpyro", "numpy", "pandas", "pyarrow", "matplotlib",
           "xarray", "arviz", "scipy"}
sys.meta_path.insert(0, Blocked())
from snakemake.cli import main
try:
    main(["-n", "--cores", "1", "all", "figures"])
    code = 0
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "jax": sorted(m for m in sys.modules if m.split(".")[0] in
                  ("jax", "jaxlib", "numpyro"))}))
"""


def test_parsing_the_workflow_needs_no_jax_numpy_or_pandas(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", PARSE],
        cwd=work,
        env=snakemake_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] == 0, proc.stderr[-3000:]
    assert out["jax"] == []
    assert "fit" in proc.stdout + proc.stderr  # the dry run planned the fits


def test_metadata_imports_no_jax() -> None:
    code = (
        "import sys; import cogfit.config, cogfit.models, cogfit.schema, cogfit.links; "
        "from cogfit.models import SPECS, get_spec; get_spec('rw').with_priors({}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_model_takes_its_metadata_from_its_spec(name: str) -> None:
    model, spec = all_models()[name], get_spec(name)
    assert (model.name, model.description) == (spec.name, spec.description)
    assert model.params == spec.params and model.latent_names == spec.latent_names
    assert (model.linear is not None) == spec.affine
    assert spec.reference and spec.description


def test_an_implementation_must_match_its_specs_affine_flag() -> None:
    spec, model = get_spec("rw"), all_models()["rw"]
    with pytest.raises(ConfigError, match="'rw': its spec says affine=True"):
        implement(spec, model.init, model.update, model.logits, model.latents, None)


def test_an_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown model 'rw2'; known models: \[.*'rw', 'rw_dual'"
    ):
        get_spec("rw2")


def test_the_readme_table_is_written_from_the_specs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = models_table()
    assert table in readme
    for name, spec in SPECS.items():
        assert f"| `{name}` | {spec.description} |" in table


@pytest.mark.parametrize(
    ("link", "upper", "text"),
    [("probit", None, "(0, 1)"), ("scaled_probit", 20.0, "(0, 20)"), ("exp", None, "(0, ∞)")],
)
def test_link_ranges(link: str, upper: float | None, text: str) -> None:
    assert link_range(link, upper) == text


#: a parameter row of docs/models.md: names, models, "link, range", "(mean_loc,
#: mean_scale, sd_scale)" and ", half-Cauchy sd" where the sd's prior is one
_PRIOR_ROW = re.compile(
    r"^\| (?P<names>`[^|]+`) \| [^|]+ \| (?P<link>\w+), (?P<range>\([^)]*\)) \| "
    r"\((?P<prior>[^)]*)\)(?P<cauchy>, half-Cauchy sd)? \|",
    re.M,
)


def _documented_priors() -> set[tuple]:
    """(name, link, range, mean_loc, mean_scale, sd_scale, sd_prior) of every parameter
    row of docs/models.md."""
    text = (Path(__file__).resolve().parents[1] / "docs/models.md").read_text(encoding="utf-8")
    rows = set()
    for row in _PRIOR_ROW.finditer(text):
        prior = tuple(float(x.replace("−", "-")) for x in row["prior"].split(","))
        sd_prior = "half_cauchy" if row["cauchy"] else "half_normal"
        for name in re.findall(r"`([^`]+)`", row["names"]):
            rows.add((name, row["link"], row["range"], *prior, sd_prior))
    return rows


def test_the_equations_page_gives_every_parameters_link_and_prior() -> None:
    """docs/models.md's parameter tables (written by hand) against the specs: every built-in
    parameter's link, range and default prior is a row, and every row is some model's."""
    documented = _documented_priors()
    actual = {
        (
            p.name,
            p.link,
            link_range(p.link, p.upper),
            p.mean_loc,
            p.mean_scale,
            p.sd_scale,
            p.sd_prior,
        )
        for spec in SPECS.values()
        for p in spec.params
    }
    assert len(documented) > 40
    assert actual - documented == set(), "parameters docs/models.md does not give as specified"
    assert documented - actual == set(), "rows of docs/models.md no model has"
