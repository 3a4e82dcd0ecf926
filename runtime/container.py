"""`container_step`: a step that runs a command (any tool, not Python) instead of a function.

Declared at module level and called in a pipeline body like a `@step`::

    count = container_step(
        name="count-lines",
        image="busybox:1.36",
        command=["sh-free-tool", "--in", "{path}", "--out", "{outputs.lines}"],
        inputs={"path": str},
        outputs={"lines": int},
    )

`command` is an argv list, never a shell string. In each item, `{name}` is the
value of input `name` and `{outputs.name}` is the path of a file the command
writes output `name` to; `{{` and `}}` are literal braces. A placeholder may be
a whole item or part of one (`"--n={n}"`): plain text substitution, no shell,
so a value is never split or interpreted. Values: `str` as is, `int`/`float`
as Python prints them, `bool` as `true`/`false`. Outputs are read after the
command exits 0: `str` is the file's text with one trailing newline removed,
`int`/`float`/`bool` are JSON read from the stripped text. Inputs and outputs
are parameters (`str`, `int`, `float`, `bool`).

Locally the command runs as a subprocess in the task's environment (`image` is
not used); on Kubernetes targets the pod runs `image` with this command.
Called outside a pipeline it runs the command the same way, so it is testable.
Standard library only: it runs inside task containers.
"""

from __future__ import annotations

import inspect
import json
import string
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

#: Types a container step's inputs and outputs may have.
PARAM_TYPES: tuple[type, ...] = (str, int, float, bool)


def parse_item(item: str) -> list[tuple[str, str | None]]:
    """An argv item as (literal text, placeholder field or None) pieces; ValueError if malformed."""
    pieces: list[tuple[str, str | None]] = []
    for text, fieldname, spec, conversion in string.Formatter().parse(item):
        if fieldname is not None and (spec or conversion):
            raise ValueError(f"placeholder {{{fieldname}}} takes no format spec or conversion")
        if fieldname == "":
            raise ValueError("empty placeholder {}")
        pieces.append((text, fieldname))
    return pieces


def render_value(value: Any) -> str:
    """How an input value appears in the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_output(name: str, text: str, typ: type) -> Any:
    """An output's value from the text of its file."""
    if typ is str:
        return text[:-1] if text.endswith("\n") else text
    try:
        value = json.loads(text.strip())
    except ValueError:
        raise ValueError(f"output {name!r} is not a {typ.__name__}: {text[:80]!r}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not typ:
        raise ValueError(f"output {name!r} is not a {typ.__name__}: {text[:80]!r}")
    return value


class ContainerStep:
    """A step that runs `command` in `image`; see the module documentation."""

    def __init__(
        self,
        *,
        name: str,
        image: str,
        command: Sequence[str],
        inputs: Mapping[str, type],
        outputs: Mapping[str, type],
    ) -> None:
        self.name = name
        self.image = image
        self.command = tuple(command)
        self.inputs = dict(inputs)
        self.outputs = dict(outputs)
        for item in self.command:
            for _text, fieldname in parse_item(item):
                if fieldname is None:
                    continue
                key = fieldname.removeprefix("outputs.")
                known = self.outputs if fieldname.startswith("outputs.") else self.inputs
                if key not in known:
                    raise ValueError(
                        f"container step {name!r}: unknown placeholder {{{fieldname}}}"
                    )
        self.func = self._function()

    def _function(self) -> Any:
        def run(**values: Any) -> Any:
            return self.run(values)

        params = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=t)
            for n, t in self.inputs.items()
        ]
        outs = [Annotated[t, n] for n, t in self.outputs.items()]
        ret: Any = (
            None
            if not outs
            else outs[0]
            if len(outs) == 1
            else tuple.__class_getitem__(tuple(outs))
        )
        run.__signature__ = inspect.Signature(params, return_annotation=ret)  # type: ignore[attr-defined]
        run.__annotations__ = {**self.inputs, "return": ret}
        run.__name__ = run.__qualname__ = self.name.replace("-", "_")
        return run

    def argv(self, values: Mapping[str, Any], out_dir: Path) -> list[str]:
        """The command with every placeholder substituted."""
        argv: list[str] = []
        for item in self.command:
            parts: list[str] = []
            for text, fieldname in parse_item(item):
                parts.append(text)
                if fieldname is None:
                    continue
                if fieldname.startswith("outputs."):
                    parts.append(str(out_dir / fieldname.removeprefix("outputs.")))
                else:
                    parts.append(render_value(values[fieldname]))
            argv.append("".join(parts))
        return argv

    def run(self, values: Mapping[str, Any]) -> Any:
        """Run the command as a subprocess (no shell) and return its outputs like a step."""
        with tempfile.TemporaryDirectory(prefix="portaflow-container-") as tmp:
            argv = self.argv(values, Path(tmp))
            try:
                done = subprocess.run(argv, check=False)
            except OSError as exc:
                raise RuntimeError(
                    f"container step {self.name!r}: cannot run {argv[0]!r}: {exc}"
                ) from None
            if done.returncode != 0:
                raise RuntimeError(
                    f"container step {self.name!r}: {argv[0]!r} exited with {done.returncode}"
                )
            results = []
            for out, typ in self.outputs.items():
                path = Path(tmp) / out
                if not path.is_file():
                    raise RuntimeError(
                        f"container step {self.name!r}: the command did not write output {out!r} "
                        "to the {outputs." + out + "} path"
                    )
                results.append(read_output(out, path.read_text(encoding="utf-8"), typ))
        if not results:
            return None
        return results[0] if len(results) == 1 else tuple(results)

    def __call__(self, **values: Any) -> Any:
        return self.run(values)

    def __repr__(self) -> str:
        return f"<container_step {self.name!r} {self.image}>"


def container_step(
    *,
    name: str,
    image: str,
    command: Sequence[str],
    inputs: Mapping[str, type] | None = None,
    outputs: Mapping[str, type] | None = None,
) -> ContainerStep:
    """Declare a step that runs `command` in `image` (see `portaflow.container`)."""
    return ContainerStep(
        name=name, image=image, command=command, inputs=inputs or {}, outputs=outputs or {}
    )
