"""yamlout writes YAML that every reader parses back to exactly the data: no string can inject."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from portaflow.backends.argo import yamlout

LOADERS: list[Any] = [yaml.SafeLoader]
if hasattr(yaml, "CSafeLoader"):
    LOADERS.append(yaml.CSafeLoader)

NASTY = [
    "",
    " ",
    " lead",
    "trail ",
    "-",
    "- x",
    "--",
    "---",
    "...",
    "?",
    "? x",
    ":",
    "a: b",
    "a:",
    "a #b",
    "#c",
    "&anchor",
    "*alias",
    "!tag",
    "!!str",
    "%YAML",
    "@at",
    "`tick`",
    "{{workflow.uid}}",
    "$(HOME)",
    "[1]",
    "{a: 1}",
    "|",
    ">",
    "'",
    '"',
    "\\",
    "a\nb",
    "a\r\nb",
    "\t",
    "\x00\x01\x1f\x7f\x80\x85\x9f",
    "\u2028\u2029\ufeff\ufffe\uffff",
    "\U0001f600",
    "y",
    "Y",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "0x1f",
    "0o17",
    "0b101",
    "1e3",
    ".5",
    "-.5",
    "+1",
    "1_000",
    "1:30",
    "1:30:00",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    ".inf",
    "-.Inf",
    ".NaN",
    "nan",
    "inf",
    "<<",
    "=",
    "a" * 2000,
    "pipeline:square",
    "a:b:",
    "http://x/y",
]
SPECIAL = st.sampled_from(
    ["{{", "$(", ": ", " #", "#", "&", "*", "!", "%", "@", "`", "-", " ", "\n"]
)
TEXT = st.text() | st.lists(st.text() | SPECIAL).map("".join) | st.sampled_from(NASTY)


def _load(text: str) -> list[Any]:
    # Only SafeLoader and CSafeLoader are in LOADERS.
    return [yaml.load(text, Loader=loader) for loader in LOADERS]


def _check(data: Any) -> None:
    text = yamlout.dump(data)
    assert text.endswith("\n") and "\r" not in text
    text.encode("utf-8")
    for back in _load(text):
        assert back == data
        assert type(back) is type(data)


@pytest.mark.parametrize("s", NASTY)
def test_nasty_strings(s: str) -> None:
    _check({"k": s})
    _check({s: "v"})
    _check([s, [s], {s: [s]}])


@settings(max_examples=max(500, settings.default.max_examples))
@given(TEXT)
def test_any_text_round_trips_as_value_and_key(s: str) -> None:
    _check(s)
    _check({"key": s, "after": 1})
    _check({s: "value", "after": [s]})
    _check([s, {"k": s}, [s, s]])


def _json_like() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=30,
    )


@settings(max_examples=max(300, settings.default.max_examples))
@given(_json_like())
def test_nested_structures_round_trip(data: Any) -> None:
    text = yamlout.dump(data)
    for back in _load(text):
        assert back == data
    assert yamlout.dump(data) == text


def test_floats_keep_their_type() -> None:
    for f in (1e20, 1e-5, -0.0, 1.5, 3.0, math.inf, -math.inf):
        _check({"f": f})
    assert yamlout.dump({"f": math.nan}) == "f: .nan\n"


def test_block_layout() -> None:
    doc = {"name": "x", "a": {"b": [1, {"c": None, "d": [[], {}]}, [True, "s"]]}, "e": []}
    assert yamlout.dump(doc) == (
        "name: x\n"
        "a:\n"
        "  b:\n"
        "  - 1\n"
        "  - c: null\n"
        "    d:\n"
        "    - []\n"
        "    - {}\n"
        "  - - true\n"
        "    - s\n"
        "e: []\n"
    )


def test_plain_only_when_safe() -> None:
    assert yamlout.string("portaflow.task") == "portaflow.task"
    assert yamlout.string("pipeline:square") == "pipeline:square"
    for s in ("yes", "On", "NULL", "1e3", "a: b", "a #b", "-x", " x", "x ", "", "{{x}}"):
        assert yamlout.string(s).startswith('"'), s
    assert yamlout.string("\u2028\x85\ufeff") == '"\\u2028\\u0085\\ufeff"'


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        yamlout.dump({"a": object()})
