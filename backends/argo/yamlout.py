"""The one YAML writer of the Argo backend: stable key order, no wrapping, `\\n` endings.

Keys keep the order they were built in (hera's model field order), except that `name`
comes first in every mapping, as Argo's own examples write it. Strings that a YAML 1.1
reader such as go-yaml (used by kubectl and argo) could take for something else (`y`,
`on`, `0x1f`, `1_000`...) are double-quoted, so the manifest means the same to every reader.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_PLAIN_OK = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@-]*")
_YAML11_WORDS = {"y", "yes", "n", "no", "on", "off", "true", "false", "null", "nan", "inf"}


class _Dumper(yaml.CSafeDumper):
    """libyaml-backed SafeDumper with our string style; never mutates PyYAML's globals."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.CSafeDumper, data: str) -> yaml.ScalarNode:
    plain = _PLAIN_OK.fullmatch(data) is not None and data.lower() not in _YAML11_WORDS
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=None if plain else '"')


_Dumper.add_representer(str, _str)


def ordered(value: Any) -> Any:
    """`value` with `name` moved first in every mapping; other keys keep their order."""
    if isinstance(value, dict):
        keys = list(value)
        if "name" in value:
            keys.remove("name")
            keys.insert(0, "name")
        return {k: ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def dump(doc: dict[str, Any]) -> str:
    """One YAML document, deterministic text."""
    text: str = yaml.dump(
        ordered(doc),
        Dumper=_Dumper,
        sort_keys=False,
        width=2**31 - 1,
        allow_unicode=True,
        default_flow_style=False,
        line_break="\n",
    )
    return text
