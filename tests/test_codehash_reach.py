"""The code hash covers exactly what a step can reach (issue #10, section 1).

Each case is a small project whose step `a` reaches a helper through one shape
(a scope that shadows the helper's name elsewhere, a star import, a package
re-export, a module constant bound in some unusual way...). For every case, an
edit that changes what `a` computes must change its hash, and an edit that
does not (a comment, a docstring, formatting, an unrelated helper) must not.
Dynamic reach (getattr, importlib, exec...) is in test_codehash_dynamic.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hashkit import UNRELATED, Case, edit, step_hash

CASES = [
    Case(
        "nested-function-argument-named-like-the-helper",
        {
            "pipeline.py": """
def helper(x):
    return x + 1


@step
def a(x: int) -> int:
    def inner(helper):
        return helper
    return helper(x) + inner(1)
"""
        },
        (("pipeline.py", "return x + 1", "return x + 2"),),
        (("pipeline.py", "return x + 1", "return  x+1  # one"),),
    ),
    Case(
        "comprehension-variable-named-like-the-helper",
        {
            "pipeline.py": """
def helper(x):
    return x + 1


@step
def a(x: int) -> int:
    ys = [helper for helper in range(3)]
    return helper(x) + len(ys)
"""
        },
        (("pipeline.py", "return x + 1", "return x + 2"),),
        (("pipeline.py", "def helper(x):\n", 'def helper(x):\n    """Doc."""\n'),),
    ),
    Case(
        "nonlocal-and-global-declarations",
        {
            "pipeline.py": """
COUNT = 0


@step
def a(x: int) -> int:
    total = 0

    def add(v):
        nonlocal total
        total += v

    def bump():
        global COUNT
        COUNT += 1
        return COUNT

    add(x)
    return total + bump()
"""
        },
        (("pipeline.py", "COUNT = 0", "COUNT = 5"),),
        (("pipeline.py", "    total = 0\n", "    total = 0  # start\n"),),
    ),
    Case(
        "class-methods-and-bases",
        {
            "pipeline.py": """
class Base:
    def scale(self, v):
        return v * 2


class Model(Base):
    def predict(self, v):
        return self.scale(v) + 1


@step
def a(x: int) -> int:
    return Model().predict(x)
"""
            + UNRELATED[0]
        },
        (
            ("pipeline.py", "return self.scale(v) + 1", "return self.scale(v) + 2"),
            ("pipeline.py", "return v * 2", "return v * 3"),
        ),
        (("pipeline.py", *UNRELATED),),
    ),
    Case(
        "module-level-instance-of-a-class",
        {
            "pipeline.py": """
class Scaler:
    def __call__(self, v):
        return v * 2


SCALER = Scaler()


@step
def a(x: int) -> int:
    return SCALER(x)
"""
        },
        (("pipeline.py", "return v * 2", "return v * 3"),),
        (("pipeline.py", "SCALER = Scaler()", "SCALER = Scaler(  )"),),
    ),
    Case(
        "star-import",
        {
            "pipeline.py": """
from helpers import *


@step
def a(x: int) -> int:
    return scale(x)
""",
            "helpers.py": "def scale(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("helpers.py", "return x * 2", "return x * 3"),),
        (("helpers.py", *UNRELATED), ("helpers.py", "def scale", "# a comment\ndef scale")),
    ),
    Case(
        "star-import-of-a-star-import",
        {
            "pipeline.py": """
from outer import *


@step
def a(x: int) -> int:
    return scale(x)
""",
            "outer.py": "from inner import *\n",
            "inner.py": "def scale(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("inner.py", "return x * 2", "return x * 3"),),
        (("inner.py", *UNRELATED),),
    ),
    Case(
        "package-re-export-from-a-submodule",
        {
            "pipeline.py": """
from pkg import helper


@step
def a(x: int) -> int:
    return helper(x)
""",
            "pkg/__init__.py": "from .sub import helper\n",
            "pkg/sub.py": "def helper(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("pkg/sub.py", "return x * 2", "return x * 3"),),
        (("pkg/sub.py", *UNRELATED),),
    ),
    Case(
        "package-attribute-through-a-re-export",
        {
            "pipeline.py": """
import pkg


@step
def a(x: int) -> int:
    return pkg.helper(x)
""",
            "pkg/__init__.py": "from pkg.sub import *\n",
            "pkg/sub.py": "def helper(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("pkg/sub.py", "return x * 2", "return x * 3"),),
        (("pkg/sub.py", *UNRELATED),),
    ),
    Case(
        "tuple-unpacking",
        {"pipeline.py": "\nLOW, HIGH = 1, 9\n\n\n@step\ndef a(x: int) -> int:\n    return HIGH\n"},
        (("pipeline.py", "1, 9", "1, 10"), ("pipeline.py", "LOW, HIGH", "HIGH, LOW")),
        (("pipeline.py", "1, 9", "(1, 9)  # bounds"),),
    ),
    Case(
        "augmented-assignment",
        {"pipeline.py": "\nN = 2\nN += 3\n\n\n@step\ndef a(x: int) -> int:\n    return N\n"},
        (("pipeline.py", "N += 3", "N += 4"), ("pipeline.py", "N += 3", "N *= 3")),
        (("pipeline.py", "N += 3", "N  +=  3"),),
    ),
    Case(
        "subscript-and-attribute-assignment-later",
        {
            "pipeline.py": """
import types

CONF = {"k": 1}
NS = types.SimpleNamespace()
CONF["k"] = 2
NS.v = 3


@step
def a(x: int) -> int:
    return CONF["k"] + NS.v
"""
        },
        (
            ("pipeline.py", 'CONF["k"] = 2', 'CONF["k"] = 5'),
            ("pipeline.py", "NS.v = 3", "NS.v = 4"),
        ),
        (("pipeline.py", 'CONF["k"] = 2', "CONF['k'] = 2"),),
    ),
    Case(
        "mutating-call-and-del",
        {
            "pipeline.py": """
TABLE = [1, 2, 3]
TABLE.append(4)
del TABLE[0]


@step
def a(x: int) -> int:
    return sum(TABLE)
"""
        },
        (
            ("pipeline.py", "TABLE.append(4)", "TABLE.append(5)"),
            ("pipeline.py", "del TABLE[0]", "del TABLE[1]"),
        ),
        (("pipeline.py", "TABLE.append(4)", "TABLE.append( 4 )"),),
    ),
    Case(
        "try-except-alternatives",
        {
            "pipeline.py": """
try:
    LIMIT = int("3")
except ValueError:
    LIMIT = 5


@step
def a(x: int) -> int:
    return LIMIT
"""
        },
        (
            ("pipeline.py", "LIMIT = 5", "LIMIT = 6"),
            ("pipeline.py", "except ValueError", "except TypeError"),
        ),
        (("pipeline.py", "LIMIT = 5", "LIMIT = 5  # fallback"),),
    ),
    Case(
        "if-else-alternatives",
        {
            "pipeline.py": """
import sys

if sys.platform == "linux":
    MODE = "a"
else:
    MODE = "b"


@step
def a(x: int) -> str:
    return MODE
"""
        },
        (
            ("pipeline.py", 'MODE = "b"', 'MODE = "c"'),
            ("pipeline.py", '== "linux"', '== "darwin"'),
        ),
        (("pipeline.py", 'MODE = "b"', "MODE = 'b'"),),
    ),
    Case(
        "with-and-for-at-module-level",
        {
            "pipeline.py": """
import contextlib

SQUARES = []
with contextlib.nullcontext(4) as SIZE:
    for i in range(SIZE):
        SQUARES.append(i * i)


@step
def a(x: int) -> int:
    return SQUARES[-1] + SIZE
"""
        },
        (
            ("pipeline.py", "nullcontext(4)", "nullcontext(5)"),
            ("pipeline.py", "SQUARES.append(i * i)", "SQUARES.append(i + i)"),
        ),
        (("pipeline.py", "SQUARES = []", "SQUARES = []  # filled below"),),
    ),
    Case(
        "function-declaring-a-global",
        {
            "pipeline.py": """
MODE = "a"


def configure():
    global MODE
    MODE = "b"


configure()


@step
def a(x: int) -> str:
    return MODE
"""
        },
        (("pipeline.py", 'MODE = "b"', 'MODE = "c"'),),
        (("pipeline.py", "    global MODE\n", "    global MODE  # set it\n"),),
    ),
    Case(
        "registry-filled-by-decorators",
        {
            "pipeline.py": """
REGISTRY = {}


def register(f):
    REGISTRY[f.__name__] = f
    return f


@register
def double(v):
    return v * 2


@step
def a(x: int) -> int:
    return REGISTRY["double"](x)
"""
        },
        (("pipeline.py", "return v * 2", "return v * 3"),),
        (("pipeline.py", "def double(v):\n", 'def double(v):\n    """Twice."""\n'),),
    ),
    Case(
        "default-values",
        {
            "pipeline.py": """
FACTOR = 2
OFFSET = 1


def helper(v, k=FACTOR):
    return v * k


@step
def a(x: int, off: int = OFFSET) -> int:
    return helper(x) + off
"""
        },
        (("pipeline.py", "FACTOR = 2", "FACTOR = 3"), ("pipeline.py", "OFFSET = 1", "OFFSET = 2")),
        (("pipeline.py", "FACTOR = 2", "FACTOR = 2  # twice"),),
    ),
    Case(
        "module-attribute-chains-stay-narrow",
        {
            "pipeline.py": """
import helpers


@step
def a(x: int) -> int:
    return helpers.scale(x)
""",
            "helpers.py": "def scale(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("helpers.py", "return x * 2", "return x * 3"),),
        (("helpers.py", *UNRELATED),),
    ),
    Case(
        "function-local-import",
        {
            "pipeline.py": """
@step
def a(x: int) -> int:
    from helpers import scale as s
    return s(x)
""",
            "helpers.py": "def scale(x):\n    return x * 2\n" + UNRELATED[0],
        },
        (("helpers.py", "return x * 2", "return x * 3"),),
        (("helpers.py", *UNRELATED),),
    ),
    Case(
        "a-user-decorator-on-the-step",
        {
            "pipeline.py": """
def twice(f):
    def wrapper(x):
        return f(x) * 2
    return wrapper


@step(retries=1)
@twice
def a(x: int) -> int:
    return x
"""
        },
        (("pipeline.py", "return f(x) * 2", "return f(x) * 3"),),
        (("pipeline.py", "@step(retries=1)", "@step(retries=2)"),),
    ),
    Case(
        "match-capture-and-walrus-at-module-level",
        {
            "pipeline.py": """
import sys

match sys.platform:
    case "linux":
        SEP = "/"
    case other:
        SEP = other[:1]

if (LIMIT := 10) > 5:
    pass


@step
def a(x: int) -> str:
    return SEP * LIMIT
"""
        },
        (
            ("pipeline.py", "SEP = other[:1]", "SEP = other[:2]"),
            ("pipeline.py", 'case "linux"', 'case "darwin"'),
            ("pipeline.py", "LIMIT := 10", "LIMIT := 11"),
        ),
        (("pipeline.py", "    pass\n", "    pass  # nothing\n"),),
    ),
    Case(
        "new-code-above-the-step",
        {"pipeline.py": "\n\n@step\ndef a(x: int) -> int:\n    return x\n"},
        (("pipeline.py", "return x\n", "return -x\n"),),
        (
            ("pipeline.py", "\n\n@step", "\n\ndef other():\n    return 1\n\n\n@step"),
            ("pipeline.py", "\n\n@step", '\n"""Module docstring."""\n\n@step'),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_change_in_reach_changes_the_hash(tmp_path: Path, case: Case) -> None:
    base = step_hash(tmp_path, case.files)
    for rel, old, new in case.changes:
        assert step_hash(tmp_path, edit(case.files, rel, old, new)) != base, (rel, old, new)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.keeps], ids=[c.id for c in CASES if c.keeps]
)
def test_cosmetic_or_unrelated_changes_keep_the_hash(tmp_path: Path, case: Case) -> None:
    base = step_hash(tmp_path, case.files)
    for rel, old, new in case.keeps:
        assert step_hash(tmp_path, edit(case.files, rel, old, new)) == base, (rel, old, new)


SCOPES = """
K = 3


def helper(v):
    return v


class C:
    n = K
    items = [helper(i) for i in range(n)]
    gen = list(j for j in range(2))

    def m(self, x):
        return [lambda y: helper(y) + K for _ in range(x)]


@step
def a(x: int) -> int:
    f = lambda helper: helper
    g = {k: helper(k) for k in range(x)}
    s = {helper(v) for v in [x]}
    return sum(C().m(x)[0](1) for _ in range(1)) + f(1) + len(g) + len(s)
"""


def test_the_hash_is_the_same_on_every_supported_python(tmp_path: Path) -> None:
    # Comprehensions, lambdas, generator expressions and class scopes: the shapes
    # whose symbol tables differ between 3.10 and 3.13 (3.12 inlines comprehensions).
    # The value was computed on 3.11 and checked equal on 3.10, 3.12 and 3.13; a change
    # in how hashes are made changes it, like the golden files.
    assert (
        step_hash(tmp_path, {"pipeline.py": SCOPES})
        == "c2eacab789de68f00fcbdaffa9cfd04c4d2341adb0b2127e488b9bc3162e9151"
    )


def test_scopes_are_read_even_where_line_splitting_differs_from_python(tmp_path: Path) -> None:
    # str.splitlines() also cuts at U+2028 and form feeds, which Python keeps inside a
    # string; the symbol table then comes from the parsed tree instead.
    files = {
        "pipeline.py": 'SEP = "a\u2028b"\n\n\ndef helper(v):\n    return v + 1\n\n\n'
        "@step\ndef a(x: int) -> int:\n    ys = [helper for helper in range(2)]\n"
        "    return helper(x) + len(ys) + len(SEP)\n"
    }
    base = step_hash(tmp_path, files)
    assert step_hash(tmp_path, edit(files, "pipeline.py", "v + 1", "v + 2")) != base
    assert step_hash(tmp_path, edit(files, "pipeline.py", "a\u2028b", "a\u2028c")) != base
