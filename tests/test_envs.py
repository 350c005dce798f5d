"""The conda environments for --sdm conda pin the same ranges as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}
NOT_IN_CONDA = {"snakemake"}  # runs the workflow; jobs only need the libraries


def split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", req)
    assert m, req
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(split(d) for d in deps)


@pytest.mark.parametrize("env", sorted(p.name for p in (REPO / "envs").glob("*.yaml")))
def test_conda_env_pins_match_pyproject(env: str) -> None:
    spec = yaml.safe_load((REPO / "envs" / env).read_text())
    conda = {}
    deps = [d for d in spec["dependencies"] if isinstance(d, str)]
    deps += [p for d in spec["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    for dep in deps:
        name, pin = split(dep)
        if name != "pip":
            conda[CONDA_TO_PYPI.get(name, name)] = pin
    expected = {k: v for k, v in pyproject_pins().items() if k not in NOT_IN_CONDA}
    for name, pin in expected.items():
        assert name in conda, f"{env} lacks {name} (pyproject pins {pin})"
        assert conda[name] == pin, f"{env}: {name}{conda[name]} but pyproject has {name}{pin}"
