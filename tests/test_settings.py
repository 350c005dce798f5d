"""The settings classes hold config values to the schema's limits and defaults, and to
nothing else: at every boundary of every numeric or enumerated key, the schema (on a full
config) and the Python settings give the same verdict, and every dataclass default is the
schema's. The schema file, read here with plain YAML, is the reference."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from synthetic import make_idata

from cogfit.clean import CleaningSpec
from cogfit.diagnostics import Thresholds, summarise
from cogfit.errors import ConfigError
from cogfit.fit import SamplerSettings
from cogfit.models.catalog import BANDIT_COLUMNS
from cogfit.report import ReportOptions
from cogfit.schema import SCHEMA_PATH, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "workflow/schemas/config.schema.yaml"
SCHEMA: dict[str, Any] = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))
EXAMPLE: dict[str, Any] = yaml.safe_load((REPO / "config/config.yaml").read_text())
DATASET = SCHEMA["properties"]["datasets"]["additionalProperties"]
#: The name a key under a mapping with free names takes here (a prior's parameter).
ENTRY_NAME = "alpha"
#: a free name each per-column map accepts in the example config (a column it applies to)
ENTRY_NAMES = {"scale": "outcome", "column_bases": "choice"}

Config = dict[str, Any]
SAMPLER = SCHEMA["properties"]["sampler"]
#: Each settings class, given the unvalidated config, builds from the section it reads
#: (a job's view).
BUILDERS: dict[str, Callable[[Config], object]] = {
    "datasets": lambda c: CleaningSpec.from_config("example", c["datasets"]["example"]),
    "diagnostics": lambda c: Thresholds.from_config(c["diagnostics"]),
    "report": lambda c: ReportOptions.from_config(c["report"]),
    "sampler": lambda c: SamplerSettings.from_config(c.get("sampler")),
    # the clean job checks the fit's precision too: outcomes must be finite in it
    "cleaning_precision": lambda c: CleaningSpec.from_config(
        "example", c["datasets"]["example"], precision=c["sampler"]["precision"]
    ),
}
#: Where the keys each builder is probed with sit: (key path, its subschema).
SECTIONS = {
    "datasets": (("datasets", "example"), DATASET),
    "diagnostics": (("diagnostics",), SCHEMA["properties"]["diagnostics"]),
    "report": (("report",), SCHEMA["properties"]["report"]),
    "sampler": (("sampler",), SAMPLER),
    "cleaning_precision": (("sampler", "precision"), SAMPLER["properties"]["precision"]),
}


def keys(path: tuple[str, ...], schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], dict]]:
    """Every (key path, subschema) at and below ``path``; free names as ENTRY_NAME."""
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from keys((*path, key), sub)
    entries = schema.get("additionalProperties")
    if isinstance(entries, dict):
        yield from keys((*path, ENTRY_NAMES.get(path[-1], ENTRY_NAME)), entries)


def probes(schema: dict[str, Any]) -> list[object]:
    """Each bound just inside and just outside (and on it), each enum word plus a wrong one,
    and a value of a wrong type; nothing for keys with neither bounds nor enum."""
    kind = schema.get("type")
    if "enum" in schema:
        words = list(schema["enum"])
        wrong = max(words) + 1 if kind == "integer" else f"{words[0]}x"
        return [*words, wrong]
    if kind not in ("integer", "number"):
        return []
    values: list[object] = []
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if keyword not in schema:
            continue
        bound = schema[keyword]
        if kind == "integer":
            values += [bound - 1, bound, bound + 1]
        else:
            values += [math.nextafter(bound, -math.inf), bound, float(bound)]
            values += [math.nextafter(bound, math.inf)]
    if not values:
        return []
    anyway = next(v for v in values if isinstance(v, int | float))
    # wrong types: a whole float for an integer, a bool, text
    values += [float(anyway), True] if kind == "integer" else [True, str(anyway)]
    return values


def cases() -> Iterator[tuple[str, tuple[str, ...], object]]:
    for section, (path, schema) in SECTIONS.items():
        for key, sub in keys(path, schema):
            for value in probes(sub):
                yield section, key, value


CASES = list(cases())


def with_value(path: tuple[str, ...], value: object) -> Config:
    """The example config with the key at ``path`` set (sections on the way made)."""
    cfg = copy.deepcopy(EXAMPLE)
    node = cfg
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return cfg


def verdict(check: Callable[[], object]) -> str | None:
    """None when ``check`` passes, else its ConfigError's message."""
    try:
        check()
    except ConfigError as err:
        return str(err)
    return None


def test_the_settings_read_the_schema_snakemake_validates_with() -> None:
    assert SCHEMA_FILE.resolve() == SCHEMA_PATH  # common.smk: ../schemas/config.schema.yaml


def test_the_cases_cover_every_bounded_or_enumerated_key() -> None:
    covered = {key for _, key, _ in CASES}
    for name in ("n_options", "choice_base", "format"):
        assert ("datasets", "example", name) in covered
    for name in ("min_trials", "max_missing_fraction"):
        assert ("datasets", "example", "exclude", name) in covered
    for name in ("upper", "mean_scale", "sd_scale", "link"):
        assert ("datasets", "example", "priors", ENTRY_NAME, name) in covered
    for name in SCHEMA["properties"]["diagnostics"]["properties"]:
        assert ("diagnostics", name) in covered, name
    for name in ("dpi", "max_participants"):
        assert ("report", name) in covered
    for name in SAMPLER["properties"]:  # every sampler key has bounds or an enum
        assert ("sampler", name) in covered, name
    assert {s for s, key, _ in CASES if key == ("sampler", "precision")} == {
        "sampler",
        "cleaning_precision",
    }


@pytest.mark.parametrize(
    ("section", "key", "value"), CASES, ids=[f"{'.'.join(k)}={v!r}" for _, k, v in CASES]
)
def test_schema_and_settings_agree_at_every_boundary(
    section: str, key: tuple[str, ...], value: object
) -> None:
    cfg = with_value(key, value)
    expected = verdict(lambda: validate_config(copy.deepcopy(cfg), SCHEMA_FILE))
    got = verdict(lambda: BUILDERS[section](cfg))
    assert got == expected  # both pass, or both fail with the same one line
    if expected is not None:
        assert expected.startswith(f"config key {'.'.join(key)}: ") and "\n" not in expected


@pytest.fixture(scope="module")
def idata() -> Any:
    return make_idata(n_draws=20, n_chains=2)


@pytest.mark.parametrize(
    "value", probes(SCHEMA["properties"]["diagnostics"]["properties"]["hdi_prob"])
)
def test_summary_holds_hdi_prob_to_the_schema(idata: Any, value: object) -> None:
    """The diagnose job passes diagnostics.hdi_prob to summarise, which checks it."""
    expected = verdict(
        lambda: validate_config(with_value(("diagnostics", "hdi_prob"), value), SCHEMA_FILE)
    )
    assert verdict(lambda: summarise(idata, hdi_prob=value)) == expected


# --------------------------------------------------------------------------- defaults


def schema_default(path: tuple[str, ...]) -> object:
    node: dict[str, Any] = SCHEMA
    for part in path:
        node = (
            node["properties"][part]
            if part in node.get("properties", {})
            else node["additionalProperties"]
        )
    return node["default"]


def dataclass_defaults(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


@pytest.mark.parametrize(
    ("cls", "section", "elsewhere", "not_config"),
    [
        (Thresholds, "diagnostics", {"hdi_prob", "on_fail"}, set()),  # run_diagnose's
        (ReportOptions, "report", {"title"}, {"generated_at"}),  # build_report's title
        (SamplerSettings, "sampler", set(), set()),  # one field per key
    ],
)
def test_every_default_is_the_schemas(
    cls: type, section: str, elsewhere: set[str], not_config: set[str]
) -> None:
    schema_keys = set(SCHEMA["properties"][section]["properties"])
    names = {f.name for f in fields(cls)}
    assert schema_keys - names == elsewhere  # every other key is a field
    assert names - schema_keys == not_config
    for name, default in dataclass_defaults(cls).items():
        if name not in not_config:
            assert default == schema_default((section, name)), name
            assert type(default) is type(getattr(cls.from_config({}), name)), name
    assert cls.from_config({}) == cls() == cls.from_config(None)


def test_cleaning_spec_defaults_are_the_schemas() -> None:
    assert dataclass_defaults(CleaningSpec) == {
        "name": "",
        "declared": BANDIT_COLUMNS,  # a model's, not the config's: a bandit's columns
        "delimiter": schema_default(("datasets", "x", "delimiter")),
        "precision": schema_default(("sampler", "precision")),
    }
    required = {key: EXAMPLE["datasets"]["example"][key] for key in DATASET["required"]}
    spec = CleaningSpec.from_config("minimal", required)
    exclude = ("datasets", "x", "exclude")
    assert (spec.format, spec.n_options, spec.choice_base, spec.delimiter) == tuple(
        schema_default(("datasets", "x", key))
        for key in ("format", "n_options", "choice_base", "delimiter")
    )
    assert list(spec.missing_codes) == schema_default(("datasets", "x", "missing_codes"))
    assert spec.min_trials == schema_default((*exclude, "min_trials"))
    assert spec.max_missing_fraction == schema_default((*exclude, "max_missing_fraction"))
    assert list(spec.exclude_participants) == schema_default((*exclude, "participants"))
    assert spec.precision == schema_default(("sampler", "precision"))
    assert spec.column_bases == schema_default(("datasets", "x", "column_bases")) == {}
    assert spec.scale == schema_default(("datasets", "x", "scale")) == {}


def test_summary_default_hdi_prob_is_the_schemas(idata: Any) -> None:
    assert summarise(idata)["hdi_prob"].iloc[0] == schema_default(("diagnostics", "hdi_prob"))
