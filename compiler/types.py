"""Type annotations, read statically and normalised for the IR.

JSON-able types (int, float, str, bool, None, list/dict of those, unions of
those) travel as parameters; every other type is an artifact. Class names are
qualified through the module's imports (`pd.DataFrame` -> `pandas.DataFrame`).
"""

from __future__ import annotations

import ast

from portaflow.compiler import ir
from portaflow.compiler.source import Module, Project

_PRIMS = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "None": "null",
    "NoneType": "null",
}
_LISTS = {"list", "List", "Sequence", "typing.List", "typing.Sequence", "collections.abc.Sequence"}
_DICTS = {"dict", "Dict", "Mapping", "typing.Dict", "typing.Mapping", "collections.abc.Mapping"}
_ANY = {"Any", "typing.Any", "object"}

ANY = ir.TypeInfo(annotation="", type="any", kind="artifact")


def is_param_type(t: str) -> bool:
    """Whether a normalised type travels as a JSON parameter."""
    if t in ("int", "float", "str", "bool", "null"):
        return True
    if " | " in t:
        return all(is_param_type(p) for p in split_union(t))
    # Containers of unknown items (`list`, `dict[str, Any]`) are taken to be JSON.
    if t.startswith("list[") and t.endswith("]"):
        return t[5:-1] == "any" or is_param_type(t[5:-1])
    if t.startswith("dict[") and t.endswith("]"):
        key, _, val = t[5:-1].partition(", ")
        return key in ("str", "any") and (val == "any" or is_param_type(val))
    return False


def split_union(t: str) -> list[str]:
    """Top-level members of a normalised union."""
    parts: list[str] = []
    depth = 0
    cur = ""
    i = 0
    while i < len(t):
        ch = t[i]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth == 0 and t.startswith(" | ", i):
            parts.append(cur)
            cur = ""
            i += 3
            continue
        cur += ch
        i += 1
    parts.append(cur)
    return parts


def element_type(t: str) -> str:
    """The item type of a list type, "any" when unknown."""
    if t.startswith("list[") and t.endswith("]"):
        return t[5:-1]
    return "any"


def info(t: str, annotation: str) -> ir.TypeInfo:
    param = is_param_type(t) or t == ir.RUN_STATUS  # the runner passes a RunStatus as JSON
    return ir.TypeInfo(annotation=annotation, type=t, kind="parameter" if param else "artifact")


class TypeReader:
    """Normalises annotation expressions of one module."""

    def __init__(self, project: Project, module: Module) -> None:
        self.project = project
        self.module = module

    def read(self, node: ast.expr | None) -> ir.TypeInfo:
        if node is None:
            return ANY
        return info(self.normalise(node), ast.unparse(node))

    def qualname(self, node: ast.expr) -> str:
        """Dotted name of a Name/Attribute, qualified through imports when possible."""
        sym = self.project.resolve_expr(self.module, node)
        written = ast.unparse(node)
        if sym is None:
            return written
        if sym.kind == "def" and sym.module is not None:
            return sym.qualname
        if sym.kind in ("external", "module", "missing"):
            return sym.qualname
        if sym.kind == "dsl":
            return f"portaflow.{sym.qualname}"
        return written

    def normalise(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return "null"
            if isinstance(node.value, str):
                try:
                    inner = ast.parse(node.value, mode="eval").body
                except SyntaxError:
                    return node.value
                except (ValueError, RecursionError, MemoryError):  # NUL bytes; too deep to parse
                    return "any"
                return self.normalise(inner)
            return "any"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._union([self.normalise(node.left), self.normalise(node.right)])
        if isinstance(node, (ast.Name, ast.Attribute)):
            written = ast.unparse(node)
            if written in _PRIMS:
                return _PRIMS[written]
            if written in _LISTS or written in ("tuple", "Tuple"):
                return "list[any]"
            if written in _DICTS:
                return "dict[str, any]"
            if written in _ANY:
                return "any"
            q = self.qualname(node)
            if q in ("builtins.bytes", "bytes"):
                return "bytes"
            if q in ("typing.Any",):
                return "any"
            return q
        if isinstance(node, ast.Subscript):
            head = ast.unparse(node.value)
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in ("Annotated", "typing.Annotated", "typing_extensions.Annotated"):
                return self.normalise(args[0])
            if head in ("Optional", "typing.Optional"):
                return self._union([self.normalise(args[0]), "null"])
            if head in ("Union", "typing.Union"):
                return self._union([self.normalise(a) for a in args])
            if head in _LISTS or head in ("set", "Set", "frozenset"):
                return f"list[{self.normalise(args[0])}]"
            if head in ("tuple", "Tuple"):
                items = {self.normalise(a) for a in args if not _is_ellipsis(a)}
                return f"list[{items.pop() if len(items) == 1 else 'any'}]"
            if head in _DICTS and len(args) == 2:
                return f"dict[{self.normalise(args[0])}, {self.normalise(args[1])}]"
            return self.normalise(node.value)
        return "any"

    @staticmethod
    def _union(parts: list[str]) -> str:
        flat: list[str] = []
        for p in parts:
            for q in split_union(p):
                if q not in flat:
                    flat.append(q)
        if "any" in flat:
            return "any"
        nulls = [q for q in flat if q == "null"]
        rest = sorted(q for q in flat if q != "null")
        return " | ".join(rest + nulls)


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def compatible(value: str, declared: str) -> bool:
    """Whether a value of normalised type `value` may be passed where `declared` is expected.

    Only clear mismatches are rejected: unknown, `any` and class types pass.
    """
    if value == declared or "any" in (value, declared):
        return True
    if " | " in declared:
        return any(compatible(value, d) for d in split_union(declared))
    if " | " in value:
        return all(compatible(v, declared) for v in split_union(value))
    prims = ("int", "float", "str", "bool", "null")
    if value in prims and declared in prims:
        return (value, declared) in (("int", "float"), ("bool", "int"), ("bool", "float"))
    if value.startswith("list[") and declared.startswith("list["):
        return compatible(element_type(value), element_type(declared))
    if value.startswith("dict[") and declared.startswith("dict["):
        return True
    vp, dp = is_param_type(value), is_param_type(declared)
    if vp and dp:
        return False  # e.g. a list where an int is declared
    if vp != dp:
        return False
    return True  # two class types: subclasses are possible, leave it to run time


def literal_type(value: object) -> str:
    """Normalised type of a JSON literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        items = {literal_type(v) for v in value}
        if len(items) == 1:
            return f"list[{items.pop()}]"
        if items == {"int", "float"}:
            return "list[float]"
        return "list[any]"
    if isinstance(value, dict):
        return "dict[str, any]"
    return "any"
