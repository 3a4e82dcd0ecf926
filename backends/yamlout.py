"""The one YAML writer of every backend: block style, stable key order, no wrapping, `\\n` endings.

It writes only what the backends build (Argo manifest.py, KFP emit.py): mappings with string keys,
sequences, str, int, float, bool and None, keys in the order they were built. PyYAML's
representer walks each of the ~90 000 nodes of a 1000-step workflow through several
Python layers; this is one short recursive function instead.

A string is written plain only when no YAML reader can take it for anything else: it
matches a conservative allow-list (a letter, `_` or `/`, then letters, digits and
`_./@-`, with `:` only inside, never `: `), and it is not one of YAML 1.1's words
(`y`, `on`, `null`...; go-yaml, used by kubectl and argo, reads YAML 1.1). Any other
string is double-quoted with JSON's escapes, and every character outside YAML's
printable set, plus U+0085, U+2028, U+2029 and U+FEFF, is a `\\u` escape, so user text
can never end the scalar, start a comment, tag, anchor or alias, or change a line.
Multi-line strings are double-quoted with `\\n`.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_OK = re.compile(r"[A-Za-z_/](?:[A-Za-z0-9_./@:-]*[A-Za-z0-9_./@-])?")
_YAML11_WORDS = {"y", "yes", "n", "no", "on", "off", "true", "false", "null", "nan", "inf"}
# JSON escapes the C0 controls, `"` and `\`; these are the rest YAML must not see raw:
# DEL and C1 controls (incl. NEL U+0085), line/paragraph separators, BOM, surrogates and
# the non-characters U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
#: Longer keys than this use YAML's explicit `? key` form (readers limit implicit keys to 1024).
_KEY_LIMIT = 1000


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def quote(s: str) -> str:
    """`s` as a double-quoted YAML scalar (also valid JSON when `s` is printable)."""
    text = json.dumps(s, ensure_ascii=False)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def string(s: str) -> str:
    """`s` as a YAML scalar: plain when provably a string to every reader, else quoted."""
    if _PLAIN_OK.fullmatch(s) is not None and s.lower() not in _YAML11_WORDS:
        return s
    return quote(s)


def _float(f: float) -> str:
    if f != f:
        return ".nan"
    if f in (float("inf"), float("-inf")):
        return ".inf" if f > 0 else "-.inf"
    r = repr(f)
    if "." not in r and "e" in r:
        # YAML 1.1 floats need a dot: 1e+20 would read back as a string.
        r = r.replace("e", ".0e", 1)
    return r


def _scalar(v: Any, strings: dict[str, str]) -> str:
    if isinstance(v, str):
        out = strings.get(v)
        if out is None:
            out = strings[v] = string(v)
        return out
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _float(v)
    raise TypeError(f"yamlout cannot write a {type(v).__name__}")


def dump(doc: Any) -> str:
    """One YAML document, deterministic text."""
    out: list[str] = []
    app = out.append
    strings: dict[str, str] = {}
    keys: dict[str, str] = {}

    def scalar(v: Any) -> str:
        if type(v) is str:
            text = strings.get(v)
            if text is None:
                text = strings[v] = string(v)
            return text
        return _scalar(v, strings)

    def mapping(d: dict[Any, Any], ind: str, first: str) -> None:
        # `first` starts the first line (after `- ` in a sequence), `ind` the others.
        prefix = first
        inner = ind + "  "
        for k, v in d.items():
            key = keys.get(k) if type(k) is str else None
            if key is None:
                ktext = scalar(k)
                key = f"? {ktext}\n{ind}:" if len(ktext) > _KEY_LIMIT else ktext + ":"
                if type(k) is str and len(ktext) <= _KEY_LIMIT:
                    keys[k] = key
            t = type(v)
            if t is str:
                vtext = strings.get(v)
                if vtext is None:
                    vtext = strings[v] = string(v)
                app(f"{prefix}{key} {vtext}\n")
            elif t is dict and v:
                app(f"{prefix}{key}\n")
                mapping(v, inner, inner)
            elif t is list and v:
                app(f"{prefix}{key}\n")
                sequence(v, ind, ind)
            else:
                app(f"{prefix}{key} {_empty(v, strings)}\n")
            prefix = ind

    def sequence(items: list[Any], ind: str, first: str) -> None:
        prefix = first + "- "
        dash = ind + "- "
        inner = ind + "  "
        for v in items:
            t = type(v)
            if t is str:
                text = strings.get(v)
                if text is None:
                    text = strings[v] = string(v)
                app(prefix + text + "\n")
            elif t is dict and v:
                app(prefix)
                mapping(v, inner, "")
            elif t is list and v:
                app(prefix)
                sequence(v, inner, "")
            else:
                app(prefix + _empty(v, strings) + "\n")
            prefix = dash

    if type(doc) is dict and doc:
        mapping(doc, "", "")
    elif type(doc) is list and doc:
        sequence(doc, "", "")
    else:
        app(_empty(doc, strings) + "\n")
    return "".join(out)


def _empty(v: Any, strings: dict[str, str]) -> str:
    """A scalar, or an empty mapping or sequence, written inline."""
    if type(v) is dict and not v:
        return "{}"
    if type(v) is list and not v:
        return "[]"
    return _scalar(v, strings)
