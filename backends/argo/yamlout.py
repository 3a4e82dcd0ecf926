"""The project's one YAML writer now lives in `portaflow.backends.yamlout`; kept here for imports."""

from __future__ import annotations

from portaflow.backends.yamlout import dump, quote, string

__all__ = ["dump", "quote", "string"]
