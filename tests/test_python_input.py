"""Whatever bytes a pipeline file (or a step file it imports) holds, `check` answers with located
diagnostics, as Python itself would read the file: encodings, BOM, coding cookies, line breaks,
what Python's compiler rejects beyond the parser, huge literals and deep nesting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from portaflow.compiler.diagnostics import Diagnostic
from portaflow.compiler.frontend import analyze

PIPELINE = """from portaflow import pipeline, step


@step
def make(n: int = 1) -> int:
    return n


@pipeline
def p(n: int = 3):
    make(n)
"""


def _project(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def _errors(path: Path) -> list[Diagnostic]:
    result = analyze(path)
    for d in result.diagnostics:
        assert d.code != "PF001", d.render()
    return result.errors


def _one(path: Path) -> Diagnostic:
    errors = _errors(path)
    assert len(errors) == 1, [d.render() for d in errors]
    return errors[0]


# ---------------------------------------------------------------- what compile() rejects


@pytest.mark.parametrize(
    ("code", "line", "col", "message"),
    [
        ("def f(a, a):\n    pass\n", 1, 10, "duplicate argument 'a'"),
        ("def f(é, é):\n    pass\n", 1, 10, "duplicate argument 'é'"),
        ("for x in []:\n    pass\nbreak\n", 3, 1, "'break' outside loop"),
        ("continue\n", 1, 1, "'continue' not properly in loop"),
        ("def f():\n    nonlocal x\n", 2, 5, "no binding for nonlocal 'x'"),
        ("def f(x):\n    global x\n", 2, 5, "parameter and global"),
        ("x = 1\ndef f():\n    x = 2\n    global x\n", 4, 5, "assigned to before global"),
        ("return 1\n", 1, 1, "'return' outside function"),
        ("yield 1\n", 1, 1, "'yield' outside function"),
        ("await f()\n", 1, 1, "'await' outside function"),
        ("__debug__ = 1\n", 1, 1, "cannot assign to __debug__"),
    ],
)
def test_what_pythons_compiler_rejects_is_a_located_error(
    tmp_path: Path, code: str, line: int, col: int, message: str
) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(code + PIPELINE, encoding="utf-8")
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF103", line, col), d.render()
    assert message in d.message
    assert "^" in d.render()


def test_unknown_future_feature_is_located(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text("from __future__ import annotations, braces_please\n" + PIPELINE)
    d = _one(f)
    assert (d.code, d.line) == ("PF103", 1)
    assert "braces_please" in d.message


def test_a_step_file_the_compiler_follows_is_checked_too(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "steps.py").write_text(
        "from portaflow import step\n\n\n@step\ndef make(n: int) -> int:\n"
        "    for i in range(n):\n        pass\n    continue\n"
    )
    f = root / "pipeline.py"
    f.write_text(
        "from portaflow import pipeline\nfrom steps import make\n\n\n@pipeline\n"
        "def p(n: int = 3):\n    make(n)\n"
    )
    d = _one(f)
    assert (d.path, d.code, d.line, d.col) == ("steps.py", "PF103", 8, 5), d.render()


def test_compile_warnings_are_not_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text('PATTERN = "\\d+"\nassert (1, "never false")\n' + PIPELINE)
    assert _errors(f) == []
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- encodings


def test_a_utf8_bom_is_accepted_and_changes_nothing(tmp_path: Path) -> None:
    plain, bom = _project(tmp_path / "a") / "p.py", _project(tmp_path / "b") / "p.py"
    plain.write_text(PIPELINE)
    bom.write_bytes(b"\xef\xbb\xbf" + PIPELINE.encode())
    a, b = analyze(plain).pipeline, analyze(bom).pipeline
    assert a is not None and b is not None
    assert [s.code_hash for s in a.steps] == [s.code_hash for s in b.steps]
    assert [t.id for t in a.tasks] == [t.id for t in b.tasks]


def test_a_bom_does_not_shift_columns_of_the_first_line(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_bytes(b"\xef\xbb\xbfx = (\n" + PIPELINE.encode())
    d = _one(f)
    assert d.code == "PF100" and d.line == 1 and d.col == 5, d.render()
    assert d.source_line == "x = ("


def test_invalid_utf8_is_reported_at_the_first_bad_byte(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_bytes(PIPELINE.encode() + "label = 'çà".encode() + b"\xe9'\n")
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF104", 12, 12), d.render()
    assert "0xe9" in d.message
    assert d.render().splitlines()[2].index("^") - d.render().splitlines()[1].index("l") == 11


def test_invalid_utf8_in_the_first_line_is_located(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_bytes(b"# caf\xe9\n" + PIPELINE.encode())
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF104", 1, 6), d.render()


def test_a_coding_cookie_is_honoured(tmp_path: Path) -> None:
    root = _project(tmp_path)
    f = root / "pipeline.py"
    src = "#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nLABEL = 'café'\n" + PIPELINE
    f.write_bytes(src.encode("latin-1"))
    assert _errors(f) == []
    # columns after a non-ASCII character are still characters
    f.write_bytes(src.replace("    make(n)", "    é = 1; make(q)").encode("latin-1"))
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF206", 14, 17), d.render()
    assert "é = 1; make(q)" in d.render()


def test_an_unknown_coding_cookie_is_located(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text("#!/usr/bin/env python\n# coding: klingon\n" + PIPELINE)
    d = _one(f)
    assert (d.code, d.line) == ("PF104", 2), d.render()
    assert "klingon" in d.message


def test_a_null_byte_is_located(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_bytes(PIPELINE.encode() + b"x = 'a\x00b'\n")
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF100", 12, 7), d.render()


# ---------------------------------------------------------------- lines and carets


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\x0c", "\x1c", "\x0b"])
def test_unusual_line_breaks_do_not_shift_the_quoted_line(tmp_path: Path, sep: str) -> None:
    f = _project(tmp_path) / "pipeline.py"
    body = PIPELINE.replace("    make(n)", f'    label = "a{sep}b"\n    make(q)')
    f.write_text(body, encoding="utf-8")
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF206", 12, 10), d.render()
    text = d.render().splitlines()
    assert text[1] == "   12 |     make(q)"
    assert text[2] == "      |          ^"


def test_a_separator_inside_the_quoted_line_keeps_the_caret_aligned(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("make(n)", 'make("\u2028\x0c", q)'), encoding="utf-8")
    rendered = _errors(f)[0].render().splitlines()
    assert "\u2028" not in rendered[1] and "\x0c" not in rendered[1]
    assert rendered[2].index("^") == rendered[1].index("q")


def test_tabs_do_not_shift_the_caret(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("    make(n)", "\tmake(n)\n\tmake(\tq)"))
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF206", 12, 8), d.render()
    quoted, caret = d.render().splitlines()[1:3]
    assert "\t" not in quoted
    assert caret.index("^") == quoted.index("q")


def test_wide_characters_do_not_shift_the_caret(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("make(n)", 'make("数据", q)'), encoding="utf-8")
    quoted, caret = _one(f).render().splitlines()[1:3]
    # each of the two CJK characters takes two terminal columns
    assert caret.index("^") == quoted.index("q") + 2


def test_a_very_long_line_is_quoted_as_a_window_around_the_error(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    filler = "a" * 3000
    f.write_text(PIPELINE.replace("make(n)", f'label = "{filler}"; make(q); make(n)'))
    errors = _errors(f)
    d = next(e for e in errors if e.code == "PF206")
    quoted, caret = d.render().splitlines()[1:3]
    assert len(quoted) < 200
    assert caret.index("^") == quoted.index("q")


# ---------------------------------------------------------------- huge literals, deep nesting


def test_an_integer_too_long_to_print_is_located(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "steps.py").write_text(
        "from portaflow import step\n\nBIG = 0x" + "f" * 5000 + "\n\n\n@step\n"
        "def make(n: int) -> int:\n    return n + BIG\n"
    )
    f = root / "pipeline.py"
    f.write_text(
        "from portaflow import pipeline\nfrom steps import make\n\n\n@pipeline\n"
        "def p(n: int = 3):\n    make(n)\n"
    )
    d = _one(f)
    assert (d.path, d.code, d.line, d.col) == ("steps.py", "PF105", 3, 7), d.render()


def test_a_decimal_literal_beyond_the_digit_limit_is_a_syntax_error(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("n: int = 3", "n: int = " + "9" * 5000))
    d = _one(f)
    assert d.code == "PF100" and d.line == 10


def test_big_but_printable_integers_work(tmp_path: Path) -> None:
    from portaflow.compiler import ir, irjson

    f = _project(tmp_path) / "pipeline.py"
    big = 10**40 + 7
    f.write_text(PIPELINE.replace("make(n)", f"make({big})").replace("= 3", f"= -{big}"))
    p = analyze(f).pipeline
    assert p is not None
    assert p.params[0].default == -big
    binding = p.tasks[0].inputs[0].binding
    assert isinstance(binding, ir.Literal) and binding.value == big
    assert str(big) in irjson.dumps(p)


@pytest.mark.parametrize("terms", [400, 1500])
@pytest.mark.parametrize(
    "where",
    ["body", "default", "decorator", "step", "step_default", "step_file", "unary", "attr"],
)
def test_deep_nesting_anywhere_works_or_is_a_located_error(
    tmp_path: Path, where: str, terms: int
) -> None:
    from portaflow.backends import EmitOptions, load
    from portaflow.compiler import irjson

    root = _project(tmp_path)
    chain = " + ".join(["n"] * terms)
    src = PIPELINE
    if where == "body":
        src = src.replace("make(n)", f"make({chain})")
    elif where == "default":
        src = src.replace("n: int = 3", f"n: int = {chain}")
    elif where == "decorator":
        src = src.replace("@step\n", f"@step(timeout={chain})\n")
    elif where == "step":
        src = src.replace("return n", f"return {chain}")
    elif where == "step_default":
        src = src.replace("n: int = 1", f"n: int = {chain}")
    elif where == "unary":
        src = src.replace("make(n)", "make(" + "-" * terms + "n)")
    elif where == "attr":
        src = src.replace("return n", "return n" + ".a" * terms)
    else:
        (root / "deep.py").write_text(f"def helper(n):\n    return {chain}\n")
        src = "from deep import helper\n" + src.replace("return n", "return helper(n)")
    f = root / "pipeline.py"
    f.write_text(src)
    result = analyze(f)
    assert "PF001" not in {d.code for d in result.diagnostics}
    if result.pipeline is not None:  # it works: every output can be written
        irjson.loads(irjson.dumps(result.pipeline))
        load("argo")(result.pipeline, options=EmitOptions())
        return
    deep = [d for d in result.errors if d.code == "PF102"]
    for d in deep:
        assert d.line > 0 and d.col > 0 and d.source_line, d.render()
    assert deep or where in ("body", "default", "decorator", "step_default", "unary"), [
        d.render() for d in result.errors
    ]
    for d in result.errors:  # whatever the Python version's own limits, every error is located
        assert d.line > 0 and d.col > 0, d.render()


def test_an_expression_too_long_for_the_parser_is_located(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    chain = "+".join(["n"] * 100_000)
    f.write_text(PIPELINE.replace("make(n)", f"x = 1\n    make({chain})"))
    d = _one(f)
    # the parser (3.11+) or the compiler (3.10) gives up: at the statement or inside it
    assert (d.code, d.line) == ("PF102", 12) and d.col >= 5, d.render()


def test_deep_nested_literals_within_the_limit_work(tmp_path: Path) -> None:
    from portaflow.compiler import irjson

    f = _project(tmp_path) / "pipeline.py"
    deep = "[" * 150 + "1" + "]" * 150
    f.write_text(PIPELINE.replace("n: int = 1", "n: list = []").replace("= 3", f"= {deep}"))
    f.write_text(f.read_text().replace("n: int", "n: list"))
    p = analyze(f).pipeline
    assert p is not None, [d.render() for d in analyze(f).diagnostics]
    assert irjson.loads(irjson.dumps(p)) == p


def test_recursion_during_analysis_still_gives_a_located_pf102(tmp_path: Path) -> None:
    # A tree within the parse-time limit can still exhaust a small stack; the
    # safety net reports the deepest expression instead of a file-level error.
    f = _project(tmp_path) / "pipeline.py"
    chain = " + ".join(["n"] * 150)
    f.write_text(PIPELINE.replace("make(n)", f"make({chain})"))
    depth = len(_stack())
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 120)
    try:
        result = analyze(f)
    finally:
        sys.setrecursionlimit(old)
    [d] = result.errors
    assert (d.code, d.line) == ("PF102", 11), d.render()
    assert d.col > 0 and d.source_line


def _stack() -> list[object]:
    import inspect

    return inspect.stack(0)


@pytest.mark.parametrize(
    ("rng", "words"),
    [
        ("range(1000000000000)", "too large"),
        ("range(-5, 100000000000000000000000000000000, 1)", "too large"),
        ("range(0, 10, 0)", "must not be zero"),
    ],
)
def test_a_huge_or_broken_range_is_a_located_error_not_a_hang(
    tmp_path: Path, rng: str, words: str
) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("    make(n)", f"    for i in {rng}:\n        make(i)"))
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF230", 11, 14), d.render()
    assert words in d.message


def test_a_range_at_the_limit_still_fans_out(tmp_path: Path) -> None:
    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("    make(n)", "    for i in range(10000):\n        make(i)"))
    from portaflow.compiler import ir

    p = analyze(f).pipeline
    assert p is not None
    assert p.loops[0].items == ir.Literal(value=list(range(10000)))


def test_lone_surrogates_never_reach_the_output(tmp_path: Path) -> None:
    from portaflow.backends import EmitOptions, load
    from portaflow.compiler import irjson

    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("make(n)", 'make(n)\n    x = "\\ud800"'))
    d = _one(f)
    assert (d.code, d.line, d.col) == ("PF107", 12, 9), d.render()
    src = PIPELINE.replace(
        "def make(n: int = 1) -> int:", 'def make(n: int = 1) -> int:\n    """Odd \\udcff doc."""'
    )
    f.write_text(src)
    if sys.version_info >= (3, 13):  # Python 3.13 itself cannot compile such a docstring
        d = _one(f)
        assert (d.code, d.line, d.col) == ("PF107", 6, 5), d.render()
        return
    p = analyze(f).pipeline
    assert p is not None
    assert p.steps[0].doc == "Odd ? doc."
    irjson.dumps(p).encode("utf-8")
    for out in load("argo")(p, options=EmitOptions()).files:
        out.text.encode("utf-8")


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs byte file names")
def test_a_file_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    import os

    root = _project(tmp_path)
    name = os.fsdecode(b"p\xff.py")
    (root / name).write_text(PIPELINE)
    [d] = analyze(root / name).diagnostics
    assert d.code == "PF101" and "not valid UTF-8" in d.message
    d.render().encode("utf-8")


def test_a_condition_nested_too_deeply_is_located_before_any_backend_sees_it(
    tmp_path: Path,
) -> None:
    f = _project(tmp_path) / "pipeline.py"
    body = "    x = make(n)\n    if " + "not " * 40 + "x:\n        make(n)"
    f.write_text(PIPELINE.replace("    make(n)", body))
    d = _one(f)
    assert (d.code, d.line) == ("PF102", 12), d.render()
    f.write_text(PIPELINE.replace("    make(n)", body.replace("not " * 40, "not " * 30)))
    assert analyze(f).pipeline is not None


def test_a_backend_that_overflows_the_stack_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from portaflow.backends import EmitOptions
    from portaflow.compiler import ir
    from portaflow.compiler.clikit import emit_or_exit

    f = _project(tmp_path) / "pipeline.py"
    f.write_text(PIPELINE.replace("    make(n)", "    x = make(n)\n    if x:\n        make(n)"))
    p = analyze(f).pipeline
    assert p is not None
    task = p.tasks[-1]
    assert task.condition is not None
    cond: ir.Condition = task.condition
    for _ in range(1200):  # an IR file can say anything; the front end would refuse this
        cond = ir.Not(operand=cond)
    deep = dataclasses.replace(p, tasks=(*p.tasks[:-1], dataclasses.replace(task, condition=cond)))
    with pytest.raises(SystemExit) as exit_info:
        emit_or_exit(deep, "argo", EmitOptions())
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nests too deeply" in err, err


def test_an_import_of_a_name_too_long_for_the_disk_is_not_an_internal_error(
    tmp_path: Path,
) -> None:
    f = _project(tmp_path) / "pipeline.py"
    name = "a" * 300  # longer than a file name may be (ENAMETOOLONG)
    src = f"from {name} import helper\n" + PIPELINE.replace("make(n)", "make(n)\n    helper(n)")
    f.write_text(src)
    d = _one(f)
    assert (d.code, d.line) == ("PF204", 13), d.render()
