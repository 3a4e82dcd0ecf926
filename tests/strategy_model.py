"""The data side of tests/strategies.py: what a generated project is and the strings it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from portaflow.compiler import ir

#: Strings that have broken YAML writers, template engines, shells or Python quoting.
HOSTILE_STRINGS = [
    "a",
    "",
    "b: #c",
    "{{workflow.name}}",
    "{{inputs.parameters.x}}",
    "{% raw %}x{% endraw %}",
    "}}",
    "{{",
    "$(rm -rf /)",
    "${HOME} $HOME",
    "quote ' and \" both",
    "'''\"\"\"",
    "line\nbreak",
    "cr\rlf\r\n",
    "tab\there",
    "back\\slash\\",
    "\\u0041\\n",
    "__import__('os').system('echo pwned')",
    "'); import os; os.system('x') #",
    "ünïcödé ✓ 🚀 ステップ",
    "line\u2028separator\u2029paragraph",
    "next\x85line",
    "\ufeffbom",
    "- x",
    "yes",
    "null",
    "0x1f",
    "=1+1",
    "a" * 300,
]

#: Identifier suffixes that are legal (and NFKC-stable) in Python names: task ids and step names.
_NAME_SUFFIXES = ["", "", "", "_é", "_ß", "_ステップ", "_Ωmega", "_δx"]

# The three ways README's "steps in other modules" bullet imports a step.
_IMPORT_STYLES = ("from", "module", "alias")


@dataclass
class GeneratedPipeline:
    """A generated project and the IR facts it must compile to."""

    #: Text of pipeline.py.
    source: str
    #: (upstream, downstream) task-id pairs, whatever the edge kind.
    edges: set[tuple[str, str]] = field(default_factory=set)
    #: Every task id, hooks included.
    tasks: set[str] = field(default_factory=set)
    #: Tasks inside at least one loop.
    looped: set[str] = field(default_factory=set)
    #: Tasks with a condition.
    conditional: set[str] = field(default_factory=set)
    #: Every file of the project, path relative to the root -> text (pipeline.py included).
    files: dict[str, str] = field(default_factory=dict)
    #: (source, target, kind) of every IR edge.
    typed_edges: set[tuple[str, str, str]] = field(default_factory=set)
    #: Task id -> innermost loop id (None outside loops).
    task_loop: dict[str, str | None] = field(default_factory=dict)
    #: Loop id -> (items binding, parent loop id).
    loops: dict[str, tuple[ir.Binding, str | None]] = field(default_factory=dict)
    #: Task id -> its full condition.
    conditions: dict[str, ir.Condition] = field(default_factory=dict)
    #: Hook task id -> "exit" | "failure".
    hooks: dict[str, str] = field(default_factory=dict)
    #: Task id -> enclosing sub-pipeline call ids.
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Task id -> step ref ("module:function").
    step_refs: dict[str, str] = field(default_factory=dict)
    #: Codes the Argo backend must refuse the pipeline with (PF503 for `{{` in an env value).
    argo_errors: set[str] = field(default_factory=set)
    #: Loop id -> `parallel(..., limit=N)` bound, for the bounded loops.
    parallelism: dict[str, int] = field(default_factory=dict)
    #: What the pipeline returns: (output name, binding), in order.
    outputs: list[tuple[str, ir.Binding]] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        """Write every file under `folder`; returns the pipeline file's path."""
        for rel, text in self.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        return folder / "pipeline.py"


def py_string(s: str, *, raw: bool) -> str:
    """A Python string literal for `s`: `repr`, or one that keeps unusual characters unescaped."""
    if not raw:
        return repr(s)
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif (ord(ch) < 0x20 and ch != "\t") or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)  # tabs, U+2028, U+0085, U+FEFF, emoji stay as they are
    return '"' + "".join(out) + '"'


@dataclass
class _Val:
    """A name (or expression) the body can use, and what the IR binds it to."""

    text: str
    binding: ir.Binding | None
    type: str  # "int" | "str" | "bool" | "list[int]" | "Blob" | "list[Blob]" | "dict" | "any"
    task: str | None
    loops: tuple[str, ...] = ()
    branch: tuple[int, ...] = ()
    fields: bool = False  # a loop item that is a dict with "n" (int) and "rates" (list[int])


@dataclass
class _Ctx:
    indent: int
    loops: tuple[str, ...] = ()
    conds: tuple[ir.Condition, ...] = ()
    branch: tuple[int, ...] = ()
    items: list[_Val] = field(default_factory=list)  # loop variables in scope


#: Types whose values Python can order against each other (`<`): the rest only `==`/`!=`.
_ORDERED = {"int": "number", "bool": "number", "str": "str"}


def _visible(v: _Val, ctx: _Ctx) -> bool:
    return ctx.loops[: len(v.loops)] == v.loops and ctx.branch[: len(v.branch)] == v.branch


def _tasks_of(b: ir.Binding | None) -> tuple[str, ...]:
    if isinstance(b, (ir.TaskOutput, ir.Gathered)):
        return (b.task,)
    if isinstance(b, ir.OneOf):
        return tuple(o.task for o in b.options)
    return ()


def _cond_bindings(c: ir.Condition) -> list[ir.Binding]:
    if isinstance(c, ir.Truthy):
        return [c.value]
    if isinstance(c, ir.Compare):
        return [c.left, c.right]
    if isinstance(c, ir.Not):
        return _cond_bindings(c.operand)
    return [b for o in c.operands for b in _cond_bindings(o)]
