"""Code hashes cover the step and the local code it reaches, and nothing cosmetic."""

from __future__ import annotations

from pathlib import Path

from portaflow.compiler import compile_file

PIPELINE = '''
from portaflow import pipeline, step
from helpers import scale
import helpers

OFFSET = 3


def local_helper(x: int) -> int:
    return x + OFFSET


@step
def a(x: int) -> int:
    """Doc."""
    return scale(local_helper(x))


@step
def b(x: int) -> int:
    return helpers.shift(x)


@step
def c(x: int) -> int:
    import helpers as h2
    return h2.other(x)


@pipeline
def p(n: int = 1):
    b(a(n))
    c(n)
'''

HELPERS = """
def scale(x: int) -> int:
    return x * 2


def shift(x: int) -> int:
    return x - 1


def other(x: int) -> int:
    return x
"""


def _hashes(root: Path, pipeline: str, helpers: str) -> dict[str, str]:
    (root / "pipeline.py").write_text(pipeline)
    (root / "helpers.py").write_text(helpers)
    p = compile_file(root / "pipeline.py", root=root)
    return {s.ref.split(":")[1]: s.code_hash for s in p.steps}


def test_cosmetic_changes_keep_the_hash(tmp_path: Path) -> None:
    base = _hashes(tmp_path, PIPELINE, HELPERS)
    cosmetic = PIPELINE.replace('"""Doc."""', '"""Another docstring."""').replace(
        "return scale(local_helper(x))", "return scale(  local_helper( x ) )  # comment"
    )
    helpers = HELPERS.replace("return x * 2", "return x*2  # doubled")
    assert _hashes(tmp_path, "# header comment\n" + cosmetic, helpers) == base


def test_decorator_options_do_not_change_the_code_hash(tmp_path: Path) -> None:
    base = _hashes(tmp_path, PIPELINE, HELPERS)
    changed = PIPELINE.replace("@step\ndef a", "@step(retries=3)\ndef a")
    assert _hashes(tmp_path, changed, HELPERS) == base


def test_helper_changes_change_exactly_the_steps_that_reach_them(tmp_path: Path) -> None:
    base = _hashes(tmp_path, PIPELINE, HELPERS)
    # imported function helper (from helpers import scale)
    h = _hashes(tmp_path, PIPELINE, HELPERS.replace("x * 2", "x * 3"))
    assert h["a"] != base["a"] and h["b"] == base["b"]
    # module attribute helper (helpers.shift)
    h = _hashes(tmp_path, PIPELINE, HELPERS.replace("x - 1", "x - 2"))
    assert h["b"] != base["b"] and h["a"] == base["a"]
    # import inside the function body
    h = _hashes(tmp_path, PIPELINE, HELPERS.replace("return x\n", "return -x\n"))
    assert h["c"] != base["c"]
    # same-file helper and the module constant it reads
    h = _hashes(tmp_path, PIPELINE.replace("OFFSET = 3", "OFFSET = 4"), HELPERS)
    assert h["a"] != base["a"] and h["b"] == base["b"]
    h = _hashes(tmp_path, PIPELINE.replace("return x + OFFSET", "return x - OFFSET"), HELPERS)
    assert h["a"] != base["a"]


def test_step_body_change_changes_hash(tmp_path: Path) -> None:
    base = _hashes(tmp_path, PIPELINE, HELPERS)
    h = _hashes(
        tmp_path,
        PIPELINE.replace("return helpers.shift(x)", "return helpers.shift(x + 1)"),
        HELPERS,
    )
    assert h["b"] != base["b"] and h["a"] == base["a"]


def test_expressions_with_a_body_field_and_deep_expressions(tmp_path: Path) -> None:
    # IfExp and Lambda have a `body` that is an expression, not a statement list;
    # a 500-term sum (libcst overflowed near 350) must hash without overflowing the stack.
    terms = " + ".join(["x"] * 500)
    src = (
        "from portaflow import pipeline, step\n"
        "@step\ndef a(x: int) -> int:\n"
        "    f = lambda y: (y, y)\n"
        "    return (f(x)[0] if x else 0) + " + terms + "\n"
        "@pipeline\ndef p(n: int = 1):\n    a(n)\n"
    )
    (tmp_path / "pipeline.py").write_text(src)
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    assert len(p.steps[0].code_hash) == 64
