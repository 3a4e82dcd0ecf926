"""Generators of the same pipeline DAG in every DSL the benchmarks compare.

Shapes (every step is its own function taking an int and returning an int, as
distinct steps of a real pipeline are):

* ``chain``  -- step_0(n) -> step_1 -> ... -> step_{N-1}
* ``fanout`` -- step_0(n) feeds N-1 independent steps (wide fan-out, no fan-in)
* ``sleep``  -- N independent steps that each sleep ``seconds`` (parallelism)

``imports=True`` adds ``import pandas`` / ``from sklearn... import ...`` at the top
of the file, as real pipeline files have (the step bodies stay trivial, so what
is measured is the cost of the import alone).

Each ``*_source`` function returns the text of a complete, runnable file. The
DAG (nodes, edges, step names) is the same for every DSL.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

IMPORTS = (
    "import pandas as pd  # noqa: F401\n"
    "from sklearn.ensemble import RandomForestRegressor  # noqa: F401\n"
)


@dataclass(frozen=True)
class Shape:
    kind: str  # chain | fanout | sleep
    steps: int
    imports: bool = False
    seconds: float = 1.0  # only for kind == "sleep"

    @property
    def label(self) -> str:
        extra = "+pandas/sklearn" if self.imports else ""
        return f"{self.kind}-{self.steps}{extra}"

    @property
    def slug(self) -> str:
        return f"{self.kind}_{self.steps}{'_imports' if self.imports else ''}"

    def edges(self) -> list[tuple[int, int | None]]:
        """(step, upstream step or None when it reads the pipeline parameter ``n``)."""
        if self.kind == "chain":
            return [(i, i - 1 if i else None) for i in range(self.steps)]
        if self.kind == "fanout":
            return [(i, 0 if i else None) for i in range(self.steps)]
        if self.kind == "sleep":
            return [(i, None) for i in range(self.steps)]
        raise ValueError(self.kind)


def _body(shape: Shape, i: int, indent: str = "    ", *, emit: str = "return") -> str:
    """Step body; ``emit="print"`` for Argo script templates, whose result is stdout."""
    value = f"print(x + {i})" if emit == "print" else f"return x + {i}"
    if shape.kind == "sleep":
        return f"{indent}import time\n\n{indent}time.sleep({shape.seconds!r})\n{indent}{value}\n"
    return f"{indent}{value}\n"


def _var(i: int) -> str:
    return f"a{i}"


def _lhs(shape: Shape, i: int) -> str:
    """``aI = `` when step I has downstream users; leaves are bare calls (no unused names)."""
    return f"{_var(i)} = " if i in _used(shape) else ""


@functools.cache
def _used(shape: Shape) -> frozenset[int]:
    return frozenset(up for _, up in shape.edges() if up is not None)


def _arg(up: int | None) -> str:
    return "n" if up is None else _var(up)


# --------------------------------------------------------------------------- portaflow


def portaflow_source(shape: Shape, *, cache: bool = True) -> str:
    """The pipeline in portaflow's DSL (``from portaflow import step, pipeline``)."""
    out = [f'"""Generated benchmark pipeline: {shape.label}."""\n\n']
    if shape.imports:
        out.append(IMPORTS)
    out.append("from portaflow import pipeline, step\n\n")
    deco = "@step" if cache else "@step(cache=False)"
    for i in range(shape.steps):
        out.append(f"\n{deco}\ndef step_{i}(x: int) -> int:\n{_body(shape, i)}\n")
    out.append(f"\n@pipeline\ndef bench_{shape.slug}(n: int = 1):\n")
    for i, up in shape.edges():
        out.append(f"    {_lhs(shape, i)}step_{i}({_arg(up)})\n")
    return "".join(out)


# --------------------------------------------------------------------------- kfp 2.x


def kfp_source(shape: Shape, *, mode: str = "compile") -> str:
    """The pipeline in the kfp v2 DSL, lightweight ``@dsl.component`` steps.

    ``mode="compile"``: ``python FILE OUT.yaml`` compiles it with
    ``kfp.compiler.Compiler().compile``.  ``mode="local"``: ``python FILE`` runs it
    with ``kfp.local`` and ``SubprocessRunner(use_venv=False)``.
    """
    out = [f'"""Generated benchmark pipeline (kfp): {shape.label}."""\n\n']
    if shape.imports:
        out.append(IMPORTS)
    out.append("import sys\n\nfrom kfp import compiler, dsl\n\n")
    # install_kfp_package=False: the local runner then runs the step in this venv's
    # Python instead of pip-installing kfp before every step (offline, and fairer).
    base = 'base_image="python:3.11"'
    deco = (
        f"@dsl.component({base}, install_kfp_package=False)"
        if mode == "local"
        else f"@dsl.component({base})"
    )
    for i in range(shape.steps):
        out.append(f"\n{deco}\ndef step_{i}(x: int) -> int:\n{_body(shape, i)}\n")
    out.append(f'\n@dsl.pipeline(name="bench-{shape.slug.replace("_", "-")}")\n')
    out.append(f"def bench_{shape.slug}(n: int = 1):\n")
    for i, up in shape.edges():
        arg = "n" if up is None else f"{_var(up)}.output"
        if mode == "local":  # the task object is needed to switch its cache off
            out.append(f"    {_var(i)} = step_{i}(x={arg})\n")
            out.append(f"    {_var(i)}.set_caching_options(False)\n")
        else:
            out.append(f"    {_lhs(shape, i)}step_{i}(x={arg})\n")
    out.append('\n\nif __name__ == "__main__":\n')
    if mode == "compile":
        out.append(f"    compiler.Compiler().compile(bench_{shape.slug}, sys.argv[1])\n")
    else:
        out.append("    from kfp import local\n\n")
        out.append(
            "    local.init(runner=local.SubprocessRunner(use_venv=False),"
            " pipeline_root=sys.argv[1])\n"
        )
        out.append(f"    bench_{shape.slug}(n=1)\n")
    return "".join(out)


# --------------------------------------------------------------------------- hera 7


def hera_source(shape: Shape) -> str:
    """The pipeline as a hera 7 ``Workflow`` + ``DAG`` of ``@script`` templates.

    ``python FILE OUT.yaml`` builds the workflow and writes ``Workflow.to_yaml()``.
    """
    out = [f'"""Generated benchmark pipeline (hera): {shape.label}."""\n\n']
    if shape.imports:
        out.append(IMPORTS)
    out.append("import sys\n\nfrom hera.workflows import DAG, Workflow, script\n\n")
    for i in range(shape.steps):
        out.append(
            f'\n@script(image="python:3.11")\n'
            f"def step_{i}(x: int) -> None:\n{_body(shape, i, emit='print')}\n"
        )
    name = f"bench-{shape.slug.replace('_', '-')}"
    out.append(
        "\n\ndef build() -> Workflow:\n"
        f'    with Workflow(generate_name="{name}-", entrypoint="main",'
        ' arguments={"n": 1}) as w:\n'
        '        with DAG(name="main"):\n'
    )
    for i, up in shape.edges():
        if up is None:
            arg = '"{{workflow.parameters.n}}"'
        else:
            arg = f"{_var(up)}.result"
        call = f'step_{i}(arguments={{"x": {arg}}})'
        lhs = _lhs(shape, i)
        if up is None:
            out.append(f"            {lhs}{call}\n")
        elif lhs:
            out.append(f"            {lhs}{call}\n            {_var(up)} >> {_var(i)}\n")
        else:
            out.append(f"            {_var(up)} >> {call}\n")
    out.append("    return w\n")
    out.append(
        '\n\nif __name__ == "__main__":\n'
        '    with open(sys.argv[1], "w") as f:\n'
        "        f.write(build().to_yaml())\n"
    )
    return "".join(out)


# --------------------------------------------------------------------------- zenml


def zenml_source(shape: Shape) -> str:
    """The pipeline in ZenML's DSL; ``python FILE`` runs it on the active (default) stack."""
    out = [f'"""Generated benchmark pipeline (zenml): {shape.label}."""\n\n']
    if shape.imports:
        out.append(IMPORTS)
    out.append("from zenml import pipeline, step\n\n")
    for i in range(shape.steps):
        out.append(
            f"\n@step(enable_cache=False)\ndef step_{i}(x: int) -> int:\n{_body(shape, i)}\n"
        )
    out.append(f"\n@pipeline(enable_cache=False)\ndef bench_{shape.slug}(n: int = 1):\n")
    for i, up in shape.edges():
        out.append(f"    {_lhs(shape, i)}step_{i}({_arg(up)})\n")
    out.append(f'\n\nif __name__ == "__main__":\n    bench_{shape.slug}(n=1)\n')
    return "".join(out)


def write(path, text: str) -> None:
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def write_project(d, name: str = "bench") -> None:
    """Mark ``d`` as the project root (what portaflow's ``--root`` would otherwise search for)."""
    write(f"{d}/pyproject.toml", f'[project]\nname = "{name}"\nversion = "0"\n')
