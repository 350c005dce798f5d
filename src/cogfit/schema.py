"""Config validation against the JSON schema: one-line errors naming the key's full path,
its value and what the schema allows, and the schema's defaults filled in."""

from __future__ import annotations

import copy
import difflib
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
#: libyaml's loader where PyYAML has it: the schema loads in a tenth of the time
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
_PLURALS = {"integer": "integers", "number": "numbers", "string": "strings", "object": "mappings"}


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
    schema = yaml.load(Path(schema_path).read_text(), Loader=_YAML_LOADER)
    problems = list(_non_text_keys(config, ()))
    if not problems:  # key paths below are text: the schema's keywords may match them
        for error in _Validator(schema).iter_errors(config):
            problems.extend(_describe(error))
    if problems:
        problems = sorted(dict.fromkeys(problems), key=_Problem.sort_key)  # stable sort
        more = len(problems) - 1
        suffix = f" (and {more} more config error{'s' * (more > 1)})" if more else ""
        raise ConfigError(problems[0].line() + suffix)


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


def _describe(error: ValidationError) -> Iterator[_Problem]:
    """One or more problems of one jsonschema error (one per unknown key)."""
    path, kind = tuple(error.absolute_path), error.validator
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
    bounds = [
        f"{op} {schema[kw]}"
        for kw, op in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        )
        if kw in schema
    ]
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
        plural = _PLURALS.get(items["type"], f"{items['type']} values")
        if "minItems" in schema and schema["minItems"] == 1:
            plural = _NOUNS.get(items["type"], items["type"]).split(" ", 1)[-1]
        parts.append(plural if "minItems" in schema else f"of {plural}")
    if schema.get("uniqueItems"):
        parts.append("without repeats")
    if "minProperties" in schema:
        n = schema["minProperties"]
        parts.append(f"with at least {n} entr{'ies' if n != 1 else 'y'}")
    return " ".join(parts)
