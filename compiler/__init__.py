"""portaflow.compiler: pipeline source -> IR, with diagnostics, and the CLI driver.

The front end reads pipeline files statically with `ast`; it never imports
or executes them. Entry point: `compile_file`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portaflow.compiler.diagnostics import CompileError, Diagnostic
    from portaflow.compiler.frontend import compile_file

__all__ = ["CompileError", "Diagnostic", "compile_file"]


def __getattr__(name: str) -> Any:
    # Lazy, so `portaflow --help` does not pay for the front end.
    if name == "compile_file":
        from portaflow.compiler.frontend import compile_file

        return compile_file
    if name in ("CompileError", "Diagnostic"):
        from portaflow.compiler import diagnostics

        return getattr(diagnostics, name)
    raise AttributeError(name)
