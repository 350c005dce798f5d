"""Config validation: one-line errors naming the key path, Snakemake's defaults, what
``--configfile`` replaces, and (property-based) that whatever the schema accepts, the jobs
accept."""

from __future__ import annotations

import copy
import math
import re
import shutil
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from snakemake.utils import validate as snakemake_validate
from workflow_helpers import REPO, jobs_planned, make_workdir, snakemake

from cogfit.clean import CleaningSpec
from cogfit.config import check_config
from cogfit.diagnostics import Thresholds
from cogfit.errors import ConfigError
from cogfit.fit import SamplerSettings
from cogfit.report import ReportOptions
from cogfit.schema import RENAMED_KEYS, RENAMED_WORDS, subschema, validate_config, validate_section

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load((REPO / "config/config.yaml").read_text())
COLUMNS = {"participant": "p", "trial": "t", "choice": "c", "outcome": "o"}
MINIMAL: dict[str, Any] = {
    "datasets": {"d": {"path": "d.csv", "columns": COLUMNS, "models": ["rw"]}}
}


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def config_error(cfg: dict[str, Any]) -> str:
    """validate_config's message for ``cfg``; fails the test when it passes."""
    with pytest.raises(ConfigError) as info:
        validate_config(cfg, SCHEMA)
    return str(info.value)


def nodes(node: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (key path, value) of a config, the root included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from nodes(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from nodes(value, (*path, i))


def parent_of(cfg: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        cfg = cfg[part]
    return cfg


# --------------------------------------------------------------------------- defaults


def with_snakemake_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    """The reference: Snakemake's own ``validate(..., set_default=True)``."""
    out = copy.deepcopy(cfg)
    snakemake_validate(out, schema=str(SCHEMA), set_default=True)
    return out


@pytest.mark.parametrize(
    "cfg",
    [
        EXAMPLE,
        MINIMAL,
        # two datasets (defaults under additionalProperties), one with partial sections
        {
            "datasets": {
                **MINIMAL["datasets"],
                "e": {
                    "path": "e.csv",
                    "columns": COLUMNS,
                    "models": ["rw"],
                    "exclude": {"min_trials": 5},
                    "priors": {"alpha": {"sd_scale": 1.0}},
                },
            },
            "sampler": {"chains": 2},
            "report": {},
        },
    ],
    ids=["example", "minimal", "two-datasets-partial-sections"],
)
def test_defaults_match_snakemake_validate(cfg: dict[str, Any]) -> None:
    ours = copy.deepcopy(cfg)
    validate_config(ours, SCHEMA)
    assert ours == with_snakemake_defaults(cfg)
    assert ours != cfg or cfg is EXAMPLE  # the minimal configs did get defaults


def test_filled_defaults_are_not_shared_between_datasets() -> None:
    cfg = copy.deepcopy(MINIMAL)
    cfg["datasets"]["e"] = copy.deepcopy(cfg["datasets"]["d"])
    validate_config(cfg, SCHEMA)
    d, e = cfg["datasets"]["d"], cfg["datasets"]["e"]
    assert d["missing_codes"] == e["missing_codes"] == []
    assert d["missing_codes"] is not e["missing_codes"]
    assert d["exclude"] is not e["exclude"]


def test_valid_config_passes_and_keeps_its_values() -> None:
    cfg = example()
    validate_config(cfg, SCHEMA)
    for path, value in nodes(EXAMPLE):
        if not isinstance(value, dict):
            assert parent_of(cfg, path)[path[-1]] == value, path


# --------------------------------------------------------------------------- messages


def ds(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["datasets"]["example"]


ERRORS: list[tuple[str, Callable[[dict[str, Any]], object], str, list[str]]] = [
    (
        "unknown-key",
        lambda c: c["sampler"].update(chians=4),
        "sampler.chians",
        ["unknown key; allowed keys: chains, warmup, samples,", "(did you mean 'chains'?)"],
    ),
    (
        "nested-unknown-key",
        lambda c: ds(c)["exclude"].update(min_trails=3),
        "datasets.example.exclude.min_trails",
        ["unknown key; allowed keys: min_trials,", "(did you mean 'min_trials'?)"],
    ),
    (
        "unknown-top-level-key",
        lambda c: c.update(sampling={}),
        "sampling",
        ["unknown key; allowed keys: results, datasets,", "(did you mean 'sampler'?)"],
    ),
    (
        "whole-float-for-integer",
        lambda c: ds(c).update(n_options=2.0),
        "datasets.example.n_options",
        ["2.0 is not an integer; expected an integer >= 2"],
    ),
    (
        "bool-for-integer",
        lambda c: c["sampler"].update(chains=True),
        "sampler.chains",
        ["True is not an integer; expected an integer >= 1"],
    ),
    (
        "bool-for-number",
        lambda c: c["diagnostics"].update(rhat_max=True),
        "diagnostics.rhat_max",
        ["True is not a number; expected a number >= 1"],
    ),
    (
        "string-for-number",
        lambda c: c["sampler"].update(target_accept="0.9"),
        "sampler.target_accept",
        ["'0.9' is not a number; expected a number > 0 and < 1"],
    ),
    (
        "nan-for-number",
        lambda c: c["sampler"].update(target_accept=math.nan),
        "sampler.target_accept",
        ["nan is not a finite number; expected a number > 0 and < 1"],
    ),
    (
        "null-for-mapping",
        lambda c: c.update(sampler=None),
        "sampler",
        ["None is not a mapping; expected a mapping"],
    ),
    (
        "string-for-boolean",
        lambda c: c["report"].update(participant_table="yes"),
        "report.participant_table",
        ["'yes' is not true or false"],
    ),
    (
        "string-for-list",
        lambda c: ds(c).update(models="rw"),
        "datasets.example.models",
        ["'rw' is not a list; expected a list of at least 1 string"],
    ),
    (
        "list-item-type",
        lambda c: ds(c).update(models=["rw", 3]),
        "datasets.example.models[1]",
        ["3 is not a string; expected a string"],
    ),
    (
        "empty-list",
        lambda c: ds(c).update(models=[]),
        "datasets.example.models",
        ["[] has 0 items; expected a list of at least 1 string"],
    ),
    (
        "unknown-enum-word",
        lambda c: c["sampler"].update(device="gpus"),
        "sampler.device",
        ["'gpus' is not allowed; expected one of ['auto', 'cpu', 'gpu'] (did you mean 'gpu'?)"],
    ),
    (
        "integer-enum",
        lambda c: ds(c).update(choice_base=2),
        "datasets.example.choice_base",
        ["2 is not allowed; expected one of [0, 1]"],
    ),
    (
        "minimum",
        lambda c: ds(c).update(n_options=1),
        "datasets.example.n_options",
        ["1 is out of range; expected an integer >= 2"],
    ),
    (
        "maximum",
        lambda c: c["sampler"].update(max_tree_depth=16),
        "sampler.max_tree_depth",
        ["16 is out of range; expected an integer >= 1 and <= 15"],
    ),
    (
        "exclusive-maximum",
        lambda c: c["sampler"].update(target_accept=1.0),
        "sampler.target_accept",
        ["1.0 is out of range; expected a number > 0 and < 1"],
    ),
    (
        "exclusive-minimum-under-priors",
        lambda c: ds(c).update(priors={"alpha": {"sd_scale": 0}}),
        "datasets.example.priors.alpha.sd_scale",
        ["0 is out of range; expected a number > 0"],
    ),
    (
        "required-missing",
        lambda c: ds(c).pop("models"),
        "datasets.example",
        ["'models' is missing; required keys: path, columns, models"],
    ),
    (
        "nested-required-missing",
        lambda c: ds(c)["columns"].pop("participant"),
        "datasets.example.columns",
        ["'participant' is missing; required keys: participant"],
    ),
    (
        "no-datasets",
        lambda c: c.update(datasets={}),
        "datasets",
        ["{} has 0 entries; expected a mapping with at least 1 entry"],
    ),
    (
        "bad-dataset-name",
        lambda c: c["datasets"].update({"my data": ds(c)}),
        "datasets['my data']",
        ["invalid name 'my data'; expected a name matching '^[A-Za-z0-9]"],
    ),
    (
        "non-text-key",
        lambda c: c["sampler"].update({1: 2}),
        "sampler[1]",
        ["key 1 is not text; expected a string key"],
    ),
    (
        "key-with-newline",
        lambda c: c["report"].update({"ti\ntle": "x"}),
        "report['ti\\ntle']",
        ["unknown key; allowed keys: title, dpi"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragments"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_error_is_one_line_naming_key_path_and_value(
    mutate: Callable[[dict[str, Any]], object], path: str, fragments: list[str]
) -> None:
    cfg = example()
    mutate(cfg)
    msg = config_error(cfg)
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg.startswith(f"config key {path}: "), msg
    for fragment in fragments:
        assert fragment in msg, msg
    assert "more config error" not in msg, msg  # each case has one error


def test_missing_top_level_key_is_named_at_the_root() -> None:
    msg = config_error({"sampler": {}})
    assert msg == "config: 'datasets' is missing; required keys: datasets"


def test_several_errors_name_the_shallowest_and_count_the_rest() -> None:
    cfg = example()
    ds(cfg).update(n_options=2.0, choice_base=3)
    cfg["sampler"]["chians"] = 4
    msg = config_error(cfg)
    assert msg.startswith("config key sampler.chians: unknown key"), msg
    assert msg.endswith(" (and 2 more config errors)"), msg
    ds(cfg).pop("n_options")
    cfg["sampler"].pop("chians")
    msg = config_error(cfg)
    assert msg.startswith("config key datasets.example.choice_base: 3 is not allowed"), msg
    assert "more config error" not in msg


def test_each_missing_required_key_counts_once() -> None:
    cfg = example()
    ds(cfg).pop("path")
    ds(cfg).pop("models")
    msg = config_error(cfg)
    assert msg.startswith("config key datasets.example: 'path' is missing"), msg
    assert msg.endswith(" (and 1 more config error)"), msg


def test_renamed_key_and_word_fail_naming_the_new_spelling() -> None:
    cfg = example()
    cfg["sampler"]["cpu_block_trials"] = cfg["sampler"].pop("cpu_chunk_trials")
    msg = config_error(cfg)
    assert msg == "config key sampler.cpu_block_trials: renamed to sampler.cpu_chunk_trials"
    cfg = example()
    cfg["sampler"]["metric"] = "block"
    msg = config_error(cfg)
    assert msg == "config key sampler.metric: 'block' was renamed to 'mass_blocks'"
    cfg["sampler"]["metric"] = "mass_blocks"
    validate_config(cfg, SCHEMA)
    ds(cfg)["columns"]["block"] = "block"  # the data's block column is still block
    validate_config(cfg, SCHEMA)


def test_renamed_spellings_come_before_the_schema_errors() -> None:
    """An old spelling is named first, in place of the schema's own errors about it (an
    unknown key, a word not allowed); the other errors are counted."""
    cfg = example()
    cfg["sampler"].update(chians=4, metric="block", cpu_block_trials=1000)
    ds(cfg).update(choice_base=3)
    msg = config_error(cfg)
    assert msg == (
        "config key sampler.cpu_block_trials: renamed to sampler.cpu_chunk_trials "
        "(and 3 more config errors)"
    )


def test_renamed_spellings_fail_in_the_settings_too() -> None:
    """The jobs check their sections against the schema the same way."""
    renamed = r"^config key sampler\.cpu_block_trials: renamed to sampler\.cpu_chunk_trials$"
    with pytest.raises(ConfigError, match=renamed):
        SamplerSettings.from_config({"cpu_block_trials": 1000})
    word = r"^config key sampler\.metric: 'block' was renamed to 'mass_blocks'$"
    with pytest.raises(ConfigError, match=word):
        SamplerSettings.from_config({"metric": "block"})
    with pytest.raises(ConfigError, match=word):
        validate_section(("sampler", "metric"), "block")


def test_renames_lead_to_what_the_schema_has() -> None:
    for old, new in RENAMED_KEYS.items():
        assert old[-1] not in subschema(old[:-1])["properties"], old
        assert "default" in subschema(new) or "type" in subschema(new), new
    for (path, word), new_word in RENAMED_WORDS.items():
        words = subschema(path)["enum"]
        assert word not in words and new_word in words, (path, word)


def test_check_config_refuses_two_columns_naming_one_raw_column() -> None:
    cfg = example()
    ds(cfg)["columns"]["block"] = "subject"  # also the participant column
    validate_config(cfg, SCHEMA)
    with pytest.raises(ConfigError, match=r"datasets\.example\.columns: .*'subject'"):
        check_config(cfg)


# --------------------------------------------------------------------------- properties

# Words the mutations reuse: every key and string of the example, the schema's enum words
# and property names (so many mutations stay valid and reach the jobs' own checks).
_SCHEMA = yaml.safe_load(SCHEMA.read_text())


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            if key != "description":
                yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


WORDS = sorted(set(_strings(EXAMPLE)) | set(_strings(_SCHEMA)) | {"rw_persev"})
EDGES = [0, 1, 2, 15, 16, 49, 50, 600, 601, -1, 10**20]
FLOAT_EDGES = [0.0, 1.0, 2.0, 0.5, 1e-9, 0.999, -0.0, -0.5, 1.01, 1.5, 400.0]

# Wrong types for whatever they replace: floats (whole ones too), bools, strings, lists, None.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from(EDGES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(FLOAT_EDGES),
    st.text(max_size=8),
    st.sampled_from(WORDS),
)
keys = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.builds(lambda w, c: w + c, st.sampled_from(WORDS), st.characters()),  # typos
    st.integers(-3, 3),  # YAML reads `1:` as a number
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
numbers = st.one_of(
    st.sampled_from(EDGES),
    st.sampled_from(FLOAT_EDGES),
    st.integers(-20, 1000),
    st.floats(-2, 2),
)
words = st.one_of(st.sampled_from(WORDS), st.text(max_size=10))


PLAIN_KEY_CHARS = set(string.ascii_letters + string.digits + "_.-")


def render(path: tuple[Any, ...]) -> str:
    """The documented key-path format: ``a.b[0]``, odd keys as ``a['x y']``."""
    out = ""
    for part in path:
        plain = isinstance(part, str) and part[:1] not in ("", ".", "-")
        if plain and set(part) <= PLAIN_KEY_CHARS:
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def near(value: float) -> st.SearchStrategy[float]:
    """Numbers of the type of ``value``, often in its key's range: configs jobs must accept."""
    if type(value) is int:
        return st.integers(0, max(2 * value + 2, 2))
    top = 2 * value + 1 if math.isfinite(value) else 1.0
    return st.floats(0, max(top, 1.0), allow_subnormal=False)


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    """The example config after one to three mutations."""
    cfg = example()
    for _ in range(draw(st.integers(1, 3))):
        everything = list(nodes(cfg))
        op = draw(st.sampled_from(["add", "retype", "number", "near", "word", "delete"]))
        if op == "add":  # an unknown (or known) key at any depth
            mappings = [p for p, v in everything if isinstance(v, dict)]
            where = draw(st.sampled_from(mappings))
            parent_of(cfg, (*where, None))[draw(keys)] = draw(values)
            continue
        if op in ("number", "near"):
            targets = [p for p, v in everything if type(v) in (int, float)]
        elif op == "word":
            targets = [p for p, v in everything if isinstance(v, str)]
        else:
            targets = [p for p, _ in everything if p]
        if not targets:
            continue
        path = draw(st.sampled_from(targets))
        parent = parent_of(cfg, path)
        if op == "delete":
            del parent[path[-1]]
            continue
        if op == "near":
            new = near(parent[path[-1]])
        else:
            new = {"number": numbers, "word": words}.get(op, values)
        parent[path[-1]] = draw(new)
    return cfg


def jobs_accept(cfg: dict[str, Any]) -> None:
    """What the jobs and the Snakefile do with the config sections (scripts/*.py, *.smk)."""
    for name, dataset in cfg["datasets"].items():
        CleaningSpec.from_config(name, dataset)
    settings_ = SamplerSettings.from_config(cfg["sampler"])
    assert settings_.chains >= 1
    thresholds = dict(cfg["diagnostics"])
    hdi_prob, on_fail = thresholds.pop("hdi_prob"), thresholds.pop("on_fail")
    assert on_fail in ("warn", "error")
    Thresholds.from_config(thresholds)
    ReportOptions.from_config(cfg["report"])  # the report labels HDIs as the summaries do
    assert 0 < hdi_prob < 1
    assert isinstance(cfg["report"]["title"], str) and isinstance(cfg["results"], str)
    "|".join(sorted(cfg["datasets"]))  # the dataset wildcard constraint


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_configs())
def test_mutated_config_fails_in_one_line_or_the_jobs_accept_it(cfg: dict[str, Any]) -> None:
    before = copy.deepcopy(cfg)
    try:
        validate_config(cfg, SCHEMA)
    except ConfigError as err:
        msg = str(err)
        assert "\n" not in msg and "\r" not in msg, msg
        heads = ["config: "] + [f"config key {render(p)}: " for p, _ in nodes(before) if p]
        assert any(msg.startswith(h) for h in heads), msg
        event("schema refused")
        return
    try:
        check_config(cfg)
    except ConfigError as err:
        assert "\n" not in str(err), str(err)
        event("check_config refused")
        return
    jobs_accept(cfg)
    event("accepted")


def schema_and_jobs_agree(cfg: dict[str, Any]) -> bool:
    """The property for one config: refused before any job, or accepted by the jobs."""
    try:
        validate_config(cfg, SCHEMA)
        check_config(cfg)
    except ConfigError:
        return True
    try:
        jobs_accept(cfg)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        # found by the property above: each passed the schema and failed in a job
        (lambda c: ds(c).update(path=""), "datasets.example.path"),
        (lambda c: ds(c)["columns"].update(block=""), "datasets.example.columns.block"),
        (lambda c: c.update(results=""), "results"),
        (lambda c: c["sampler"].update(seed=2**32), "sampler.seed"),  # PRNGKey wraps it to 0
        (lambda c: c["datasets"].update({"mine\n": ds(c)}), "datasets['mine\\n']"),
        (lambda c: c["diagnostics"].update(ess_bulk_min=399.5), None),
        (lambda c: c["diagnostics"].update(ess_tail_min=0.5), None),
    ],
    ids=[
        "empty-path",
        "empty-column",
        "empty-results",
        "seed-beyond-32-bits",
        "dataset-name-with-newline",
        "fractional-ess-bulk-min",
        "fractional-ess-tail-min",
    ],
)
def test_schema_and_jobs_agree_where_they_once_did_not(
    mutate: Callable[[dict[str, Any]], object], key: str | None
) -> None:
    """Refused before any job, naming the key (``key``), or accepted by every job (None)."""
    cfg = example()
    mutate(cfg)
    assert schema_and_jobs_agree(cfg)
    if key is None:
        validate_config(cfg, SCHEMA)
        return
    with pytest.raises(ConfigError, match=rf"^config key {re.escape(key)}: "):
        validate_config(cfg, SCHEMA)


# --------------------------------------------------------------------------- --configfile


PER_FIT = ("fit", "diagnose", "contrasts", "marginal", "ppc", "regressors", "figures_fit")
PER_DATASET = ("clean", "compare", "figures_comparison")


def jobs_of(n_fits: int, n_datasets: int = 1) -> dict[str, int]:
    """The jobs a full run of ``n_fits`` fits on ``n_datasets`` datasets plans."""
    return {
        **dict.fromkeys(PER_FIT, n_fits),
        **dict.fromkeys(PER_DATASET, n_datasets),
        "report": 1,
    }


def test_configfile_replaces_example_config_and_config_overrides_it(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    shutil.copy(work / "data/example/bandit.csv", work / "data/example/mine.csv")
    mine = {**EXAMPLE["datasets"]["example"], "path": "data/example/mine.csv", "models": ["rw"]}
    user = {"results": "res_mine", "datasets": {"mine": mine}, "sampler": {"device": "cpu"}}
    (work / "user.yaml").write_text(yaml.safe_dump(user, sort_keys=False))

    out = snakemake(work, "-n", "--configfile", "user.yaml").stdout
    assert jobs_planned(out) == jobs_of(1)
    assert "res_mine/mine/rw/posterior.nc" in out
    assert "example" not in out.replace("data/example/", "")

    out = snakemake(work, "-n", "--config", "results=elsewhere").stdout
    assert jobs_planned(out) == jobs_of(3)
    for model in ("rw", "rw_dual", "rw_persev"):
        assert f"elsewhere/example/{model}/posterior.nc" in out
    assert "mine" not in out
