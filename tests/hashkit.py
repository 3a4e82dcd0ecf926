"""Helpers of the code-hash tests: write a small project, compile it, read step `a`'s hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from portaflow.compiler import compile_file

PIPELINE_TAIL = """

@pipeline
def p(n: int = 1):
    a(n)
"""


@dataclass(frozen=True)
class Case:
    """A project (pipeline.py is given without its `@pipeline`), and two edits of it."""

    id: str
    files: dict[str, str]
    #: (file, old, new): changes what step `a` computes.
    changes: tuple[tuple[str, str, str], ...]
    #: (file, old, new): changes nothing `a` computes.
    keeps: tuple[tuple[str, str, str], ...] = field(default=())


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel == "pipeline.py":
            text = "from portaflow import pipeline, step\n" + text + PIPELINE_TAIL
        path.write_text(text)


def step_hash(root: Path, files: dict[str, str]) -> str:
    write(root, files)
    p = compile_file(root / "pipeline.py", root=root)
    (step,) = [s for s in p.steps if s.ref.endswith(":a")]
    return step.code_hash


def edit(files: dict[str, str], rel: str, old: str, new: str) -> dict[str, str]:
    assert old in files[rel], (rel, old)
    return {**files, rel: files[rel].replace(old, new, 1)}


UNRELATED = (
    "\n\ndef unrelated(v):\n    return v * 7\n",
    "\n\ndef unrelated(v):\n    return v * 8\n",
)
