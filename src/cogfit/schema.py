"""Config validation against the JSON schema: one-line errors naming the key's full path,
its value and what the schema allows, and the schema's defaults filled in."""

from __future__ import annotations

import copy
import difflib
import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from cogfit.errors import ConfigError


def _is_integer(checker: object, instance: object) -> bool:
    """A real int: YAML's ``2.0`` is a float the jobs refuse, and ``true`` is no number."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: object, instance: object) -> bool:
    """An int or a finite float (JSON has no NaN or infinity); never a bool."""
    if isinstance(instance, float):
        return math.isfinite(instance)
    return _is_integer(checker, instance)


def _fill_defaults(validator_class: type) -> type:
    """A validator that fills in schema defaults as Snakemake's ``validate(set_default=True)``
    does (before descending into ``properties``, so defaults of nested objects are filled
    too), but only into mappings and with copies of the defaults, not the schema's objects."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):  # noqa: ANN001, ANN202
        if validator.is_type(instance, "object"):
            for key, subschema in props.items():
                if "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, props, instance, schema)

    checker = validator_class.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    )
    return validators.extend(
        validator_class, validators={"properties": properties}, type_checker=checker
    )


_Validator = _fill_defaults(Draft202012Validator)
#: libyaml's loader where PyYAML has it (faster than the pure-Python one)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Keys shown bare in a key path; others are quoted, so a path is always one line.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # fullmatch: no "\n" at the end
#: What an error is about, most useful first among errors at the same depth: a typo's
#: suggestion explains more than the errors it causes.
_RANK = {"key": 0, "additionalProperties": 0, "required": 1, "type": 2, "enum": 3}
_NOUNS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}
PLURALS = {"integer": "integers", "number": "numbers", "string": "strings", "object": "mappings"}
#: JSON Schema's numeric bounds and how messages and the config reference write them
BOUND_WORDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
)
#: Config keys that were renamed (old key path -> new key path) and enum words that were
#: renamed ((key path, old word) -> new word): an old spelling fails, naming the new one,
#: before the schema's errors (the schema knows only the new spellings).
RENAMED_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("sampler", "cpu_block_trials"): ("sampler", "cpu_chunk_trials"),
}
RENAMED_WORDS: dict[tuple[tuple[str, ...], str], str] = {
    (("sampler", "metric"), "block"): "mass_blocks",
}


@dataclass(frozen=True)
class _Problem:
    path: tuple[Any, ...]
    kind: str
    text: str  # everything after "config key <path>: "

    def sort_key(self) -> tuple[int, int]:
        return (len(self.path), _RANK.get(self.kind, len(_RANK)))

    def line(self) -> str:
        where = f"config key {_key_path(self.path)}" if self.path else "config"
        return f"{where}: {self.text}"


def validate_config(config: dict[str, Any], schema_path: str | PathLike[str]) -> None:
    """Check ``config`` against the schema and fill in its defaults (in place); on failure
    raise :class:`ConfigError` with one line naming the key path, the value and what the
    schema allows (the most relevant error, and how many more there are)."""
    schema = yaml.load(Path(schema_path).read_text(), Loader=YAML_LOADER)
    _check(config, _Validator(schema), ())


def _check(instance: object, validator: Any, prefix: tuple[Any, ...]) -> None:
    """Validate ``instance`` (filling defaults into it), which sits at key path ``prefix``;
    raise the one-line :class:`ConfigError` of its most relevant problem."""
    renamed = list(_renamed(instance, prefix))
    problems = list(_non_text_keys(instance, prefix))
    if not problems:  # key paths below are text: the schema's keywords may match them
        for error in validator.iter_errors(instance):
            problems.extend(_describe(error, prefix))
    if problems or renamed:
        old = {p.path for p in renamed}  # the schema's errors about them say less
        problems = sorted(dict.fromkeys(problems), key=_Problem.sort_key)  # stable sort
        problems = renamed + [p for p in problems if p.path not in old]
        more = len(problems) - 1
        suffix = f" (and {more} more config error{'s' * (more > 1)})" if more else ""
        raise ConfigError(problems[0].line() + suffix)


# --------------------------------------------------------------------------- sections

#: The config schema of this checkout: the file Snakemake's common.smk validates with, and
#: the one source of the limits and defaults the settings classes check their sections by.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: A config key's path: one key (``"diagnostics"``) or keys from the top down
#: (``("datasets", "mine", "exclude")``; a name under datasets or priors is any name).
KeyPath = str | Sequence[str]


@functools.cache
def _root_validator() -> Any:
    """A validator of the whole schema at SCHEMA_PATH (read once per process)."""
    try:
        text = SCHEMA_PATH.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(
            f"cannot read the config schema {SCHEMA_PATH} ({e.strerror or e}); cogfit checks "
            "settings against the workflow's schema, so it runs from a cogfit checkout"
        ) from None
    return _Validator(yaml.load(text, Loader=YAML_LOADER))


def _keys_of(section: KeyPath) -> tuple[str, ...]:
    return (section,) if isinstance(section, str) else tuple(section)


def subschema(section: KeyPath) -> Mapping[str, Any]:
    """The schema of the config key ``section`` (read-only: it is shared); a key under a
    mapping with free names (a dataset, a prior's parameter) takes its entries' schema."""
    schema: Mapping[str, Any] = _root_validator().schema
    for depth, key in enumerate(keys := _keys_of(section)):
        properties, entries = schema.get("properties", {}), schema.get("additionalProperties")
        if key in properties:
            schema = properties[key]
        elif isinstance(entries, Mapping):
            schema = entries
        else:
            raise KeyError(f"no config key {_key_path(keys[: depth + 1])} in {SCHEMA_PATH}")
    return schema


def validate_section(section: KeyPath, value: Any) -> Any:
    """``value`` checked against the schema of the config key ``section``, as a copy with
    the schema's defaults filled in: what :func:`validate_config` does to that part of a
    config, with the same one-line :class:`ConfigError` naming the full key path
    (``config key datasets.mine.exclude.min_trials: 0 is out of range; ...``). Serves
    sections (a mapping) and single keys (``("diagnostics", "hdi_prob")``) alike."""
    value = copy.deepcopy(value)
    _check(value, _root_validator().evolve(schema=subschema(section)), _keys_of(section))
    return value


def key_path(section: KeyPath) -> str:
    """A config key's path as the error messages write it: ``datasets['my data'].path``."""
    return _key_path(_keys_of(section))


def section_defaults(section: KeyPath) -> dict[str, Any]:
    """What the schema fills into an empty ``section``: each key with a default, nested
    sections' keys included (keys without a default, such as required ones, are absent)."""
    filled: dict[str, Any] = {}
    for _ in _root_validator().evolve(schema=subschema(section)).iter_errors(filled):
        pass  # an empty section may lack required keys: only the filling counts here
    return filled


def _renamed(instance: object, prefix: tuple[Any, ...]) -> Iterator[_Problem]:
    """Old spellings (:data:`RENAMED_KEYS`, :data:`RENAMED_WORDS`) in ``instance``, the
    part of a config at key path ``prefix``."""
    for old, new in RENAMED_KEYS.items():
        parent = _at(instance, prefix, old[:-1])
        if isinstance(parent, Mapping) and old[-1] in parent:
            yield _Problem(old, "renamed", f"renamed to {_key_path(new)}")
    for (path, word), new_word in RENAMED_WORDS.items():
        value = _at(instance, prefix, path)
        if isinstance(value, str) and value == word:
            yield _Problem(path, "renamed", f"{word!r} was renamed to {new_word!r}")


def _at(instance: object, prefix: tuple[Any, ...], path: tuple[str, ...]) -> object:
    """The value at key path ``path`` of a config whose part at ``prefix`` is ``instance``
    (None where there is none)."""
    if path[: len(prefix)] != prefix:
        return None
    for key in path[len(prefix) :]:
        if not isinstance(instance, Mapping):
            return None
        instance = instance.get(key)
    return instance


def _non_text_keys(node: object, path: tuple[Any, ...]) -> Iterator[_Problem]:
    """Keys that are not strings (YAML reads ``1:`` as a number): JSON objects have none."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if not isinstance(key, str):
                yield _Problem(
                    (*path, key),
                    "key",
                    f"key {key!r} is not text; expected a string key (quote it in the YAML)",
                )
            else:
                yield from _non_text_keys(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _non_text_keys(value, (*path, i))


def _describe(error: ValidationError, prefix: tuple[Any, ...] = ()) -> Iterator[_Problem]:
    """One or more problems of one jsonschema error (one per unknown key); ``prefix``: the
    key path of the validated part of a config."""
    path, kind = (*prefix, *error.absolute_path), error.validator
    schema, value = error.schema, error.instance
    shown = _show(value)
    if "propertyNames" in error.absolute_schema_path:
        # about a key itself (the instance), which jsonschema reports at its parent's path
        yield _Problem(
            (*path, value), "key", f"invalid name {shown}; expected a name {_expect(schema, True)}"
        )
        return
    if kind == "additionalProperties" and isinstance(value, Mapping):
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for key in value:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield _Problem(
                (*path, key), kind, f"unknown key; allowed keys: {', '.join(allowed)}{hint}"
            )
        return
    if kind == "required":
        # jsonschema yields one error per missing key without naming it apart from its
        # message: name every missing key here; validate_config drops the repeats
        required = error.validator_value
        for key in (k for k in required if k not in value):
            yield _Problem(path, kind, f"{key!r} is missing; required keys: {', '.join(required)}")
        return
    expected = _expect(schema)
    if kind == "type":
        is_float = isinstance(value, float)
        noun = "a finite number" if is_float and not math.isfinite(value) else _type_noun(schema)
        text = f"{shown} is not {noun}"
    elif kind == "enum":
        words = [w for w in error.validator_value if isinstance(w, str)]
        close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        text = f"{shown} is not allowed"
        expected += hint
    elif kind in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        text = f"{shown} is out of range"
    elif kind in {"minItems", "maxItems"}:
        text = f"{shown} has {len(value)} item{'s' * (len(value) != 1)}"
    elif kind == "uniqueItems":
        text = f"{shown} repeats an item"
    elif kind in {"minProperties", "maxProperties"}:
        text = f"{shown} has {len(value)} entr{'ies' if len(value) != 1 else 'y'}"
    elif kind == "pattern":
        text = f"{shown} does not match"
    elif kind in {"anyOf", "oneOf", "const", "minLength", "maxLength"}:
        text = f"{shown} is not allowed"
    else:  # keywords this schema does not use: jsonschema's own words, on one line
        text = " ".join(error.message.split())
    yield _Problem(path, kind, f"{text}; expected {expected}")


def _key_path(path: Sequence[Any]) -> str:
    """``datasets.example.models[1]``; odd keys quoted (``sampler['a b']``)."""
    out = ""
    for part in path:
        if isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _show(value: object, limit: int = 60) -> str:
    """The value as Python writes it (one line), shortened when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_noun(schema: Mapping[str, Any]) -> str:
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    return " or ".join(_NOUNS.get(t, t) for t in types) or "a value"


def _expect(schema: Mapping[str, Any], bare: bool = False) -> str:
    """What ``schema`` allows, in words: ``an integer >= 2``, ``one of ['csv', 'tsv']``."""
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):  # each branch with the keywords beside it
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return " or ".join(_expect({**rest, **branch}, bare) for branch in schema[key])
    if "enum" in schema:
        return f"one of {list(schema['enum'])!r}"
    if "const" in schema:
        return repr(schema["const"])
    parts = [] if bare else [_type_noun(schema)]
    bounds = [f"{op} {schema[kw]}" for kw, op in BOUND_WORDS if kw in schema]
    if bounds:
        parts.append(" and ".join(bounds))
    for key, words in (("minLength", "at least"), ("maxLength", "at most")):
        if key in schema:
            n = schema[key]
            parts.append(f"of {words} {n} character{'s' * (n != 1)}")
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']!r}")
    if "minItems" in schema:
        parts.append(f"of at least {schema['minItems']}")
    items = schema.get("items")
    if isinstance(items, Mapping) and isinstance(items.get("type"), str):
        plural = PLURALS.get(items["type"], f"{items['type']} values")
        if "minItems" in schema and schema["minItems"] == 1:
            plural = _NOUNS.get(items["type"], items["type"]).split(" ", 1)[-1]
        parts.append(plural if "minItems" in schema else f"of {plural}")
    if schema.get("uniqueItems"):
        parts.append("without repeats")
    if "minProperties" in schema:
        n = schema["minProperties"]
        parts.append(f"with at least {n} entr{'ies' if n != 1 else 'y'}")
    return " ".join(parts)
