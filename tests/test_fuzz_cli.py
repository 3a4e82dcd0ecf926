"""Mutation fuzz of the command line: mutated examples through `check` and `compile --target ir|argo`.

Every example project is copied and its pipeline (or a step module) is mutated
by seeded operators — token deletion, duplication and swap, byte flips,
truncation, and inserted hostile lines — then given to the real CLI entry
point. Whatever the input: no traceback, no hang, exit code 0, 1 or 2, and
every error carries `file:line:col` except "no @pipeline function found"
(PF110), which is about the whole file. The cases are seeded, so a failing
one keeps its id; known failures are listed in `KNOWN` as strict xfails that
turn into failures (XPASS) the day they are fixed.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import signal
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from pfhelpers import EXAMPLES, check_cli_output
from portaflow.compiler.cli import main

#: Mutations per example; 9 examples x 60 = 540 cases, each through three commands.
PER_EXAMPLE = 60
#: Seconds one command may take before it counts as a hang.
TIMEOUT = 60

HOSTILE_LINES = [
    "while True:\n    pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "import os",
    "x = __import__('os').system('echo pwned')",
    "lambda: 1",
    "return 1",
    "yield 1",
    "break",
    "continue",
    "nonlocal nope",
    "global g",
    "from __future__ import braces",
    "from __future__ import nope",
    "def f(a, a):\n    pass",
    "async def f():\n    await x",
    "x = 1" + "0" * 5000,
    "x = " + "(" * 200 + "1" + ")" * 200,
    "x = " + " + ".join(["1"] * 3000),
    "x = [" * 100 + "]" * 100,
    "s = '{{workflow.name}} $(rm -rf /) {% raw %}'",
    's = "line\u2028separator\x85next"',
    "\tx = 1",
    "\ufeffx = 1",
    "x = '\\N{nope}'",
    "x = 'unterminated",
    'x = """unterminated',
    "@step\ndef inner(): pass",
    "@pipeline\ndef other(): pass",
    "class C:\n    pass",
    "del x",
    "with open('f') as f:\n    pass",
    "match x:\n    case 1:\n        pass",
    "x: int = 1",
    "x += 1",
    "a, *b = c",
    "print(*x, **y)",
    "f'{x!r:>{width}}'",
    "\x0c",
    "# coding: latin-1",
    "  # only a comment, oddly indented",
    # Pipeline-body shapes (they land in a @pipeline body when the line is inside one).
    "x = [step(q) for q in range(10**10)]",
    "for a in b:\n    for c in a:\n        for d in c:\n            f(d)",
    "if x is 3:\n    pass\nelif:\n    pass",
    "y = f(after=[undefined], after=[x])",
    "a, b = a, b = f()",
    "q = [f(i) for i in [1, 2] if i]",
    "z = (yield)",
    "x = y[0][1:2]",
    "x = y.z.w()",
    "f(*[1], **{'a': 1})",
    "x = {**a, 'k': [*b]}",
    "x = f'{y!r}' f'{z}'",
    "f(y for y in z)",
    "x = 1 if y else 2",
    "x = (a := f())",
    "print(__import__('os'))",
    "assert x, 'msg'",
    "raise SystemExit(3)",
]

OPERATORS = ("delete", "duplicate", "swap", "flip", "truncate", "insert", "insert", "delete-line")


def _tokens(text: str) -> list[tuple[int, int]]:
    """Character ranges of the source's tokens (a regex split where tokenize gives up)."""
    try:
        lines = text.splitlines(keepends=True)
        starts = [0]
        for ln in lines:
            starts.append(starts[-1] + len(ln))
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT):
                continue
            (l1, c1), (l2, c2) = tok.start, tok.end
            if l1 - 1 < len(starts) and l2 - 1 < len(starts):
                a, b = starts[l1 - 1] + c1, starts[l2 - 1] + c2
                if b > a:
                    out.append((a, b))
        return out
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]


def mutate(data: bytes, rnd: random.Random) -> bytes:
    """One seeded mutation of a source file's bytes."""
    op = rnd.choice(OPERATORS)
    text = data.decode("utf-8", "replace")
    if op == "flip" or not text:
        out = bytearray(data or b"\n")
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(len(out))
            out[i] ^= 1 << rnd.randrange(8)
        return bytes(out)
    if op == "truncate":
        return data[: rnd.randrange(len(data) + 1)]
    lines = text.split("\n")
    if op == "insert":
        at = rnd.randrange(len(lines) + 1)
        indent = " " * rnd.choice([0, 4, 4, 4, 8, 2])
        block = "\n".join(indent + s for s in rnd.choice(HOSTILE_LINES).split("\n"))
        return "\n".join([*lines[:at], block, *lines[at:]]).encode("utf-8", "surrogatepass")
    if op == "delete-line":
        del lines[rnd.randrange(len(lines))]
        return "\n".join(lines).encode()
    toks = _tokens(text)
    if not toks:
        return data[:-1]
    a, b = rnd.choice(toks)
    if op == "delete":
        return (text[:a] + text[b:]).encode()
    if op == "duplicate":
        return (text[:b] + " " + text[a:b] + text[b:]).encode()
    # swap two tokens
    c, d = rnd.choice(toks)
    (a, b), (c, d) = sorted([(a, b), (c, d)])
    if c < b:
        return text.encode()
    return (text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]).encode()


def _targets(example: Path) -> list[Path]:
    """The files a mutation may hit: mostly the pipeline, sometimes a step module."""
    found = sorted(p for p in example.rglob("*.py") if "expected" not in p.parts)
    pipeline = example / "pipeline.py"
    return [pipeline, pipeline, pipeline, *[p for p in found if p != pipeline]]


def cases() -> list[tuple[str, str, int]]:
    out = []
    for example in sorted(p.parent for p in EXAMPLES.glob("*/pipeline.py")):
        for i in range(PER_EXAMPLE):
            out.append((f"{example.name}-{i:02d}", example.name, i))
    return out


# Known failures: case id -> why. Strict: a fixed case XPASSes, which fails the run until it
# is removed from here. Empty: every case gives a located error or none.
KNOWN: dict[str, str] = {}


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"the command took more than {seconds}s")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _run(args: list[str], what: str) -> None:
    with deadline(TIMEOUT):
        result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{what}: raised {result.exception!r}") from result.exception
    check_cli_output(result.exit_code, result.stdout, result.stderr, what)


@pytest.mark.parametrize(
    ("case", "example", "seed"),
    [
        pytest.param(
            c, e, s, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[c])] if c in KNOWN else []
        )
        for c, e, s in cases()
    ],
    ids=[c for c, _, _ in cases()],
)
def test_mutated_example_never_crashes(case: str, example: str, seed: int, tmp_path: Path) -> None:
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("expected"))
    rnd = random.Random(f"{example}:{seed}")
    target = rnd.choice(_targets(project))
    data = target.read_bytes()
    for _ in range(rnd.choice([1, 1, 2, 3])):
        data = mutate(data, rnd)
    target.write_bytes(data)
    pipeline = str(project / "pipeline.py")
    what = f"{case} ({target.relative_to(tmp_path)})"
    _run(["check", pipeline], f"check {what}")
    _run(["compile", pipeline, "--target", "ir"], f"compile --target ir {what}")
    _run(["compile", pipeline, "--target", "argo"], f"compile --target argo {what}")


def test_the_fuzz_mutates() -> None:
    """The operators change the source (a fuzz that mutates nothing proves nothing)."""
    src = (EXAMPLES / "quickstart" / "pipeline.py").read_bytes()
    changed = sum(mutate(src, random.Random(i)) != src for i in range(200))
    assert changed >= 190


def test_the_checks_catch_what_they_promise() -> None:
    """check_cli_output rejects tracebacks, odd exit codes and unlocated errors."""
    ok = "p.py:3:5: error PF200: 'while' is not allowed in a @pipeline body\n"
    check_cli_output(1, "", ok, "ok")
    check_cli_output(1, "", "p.py: error PF110: no @pipeline function found in p.py\n", "ok")
    for code, err in [
        (3, ok),
        (1, ok + "Traceback (most recent call last):\n"),
        (1, "p.py: error PF111: 2 pipelines in p.py and none chosen\n"),
        (1, "something went wrong\n"),
        (1, ok + "Error: cannot write the output\n"),
        (1, "p.py: error PF001: internal compiler error: KeyError\n"),
    ]:
        with pytest.raises(AssertionError):
            check_cli_output(code, "", err, "bad")


@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLES.glob("*/pipeline.py")))
def test_mutated_example_as_a_real_process(example: str, tmp_path: Path) -> None:
    """One mutation per example through the installed console script's module, as a process."""
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("expected"))
    rnd = random.Random(f"process:{example}")
    target = project / "pipeline.py"
    data = target.read_bytes()
    while True:  # a mutation that still reads as UTF-8, so no known failure applies
        mutated = mutate(data, rnd)
        try:
            mutated.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if b"\x00" not in mutated:
            break
    target.write_bytes(mutated)
    for args in (["check"], ["compile", "--target", "argo"]):
        proc = subprocess.run(
            [sys.executable, "-m", "portaflow.compiler.cli", args[0], str(target), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        check_cli_output(proc.returncode, proc.stdout, proc.stderr, f"{' '.join(args)} {example}")


def test_python_syntax_warnings_do_not_leak(tmp_path: Path) -> None:
    """Found by this fuzz: `1if x` made Python print its own unlocated SyntaxWarning line."""
    f = tmp_path / "pipeline.py"
    f.write_text(
        "from portaflow import pipeline, step\n\n\n@step\ndef s(x: int) -> int:\n"
        '    return 1if x else len("\\d")\n\n\n@pipeline\ndef p(x: int = 1):\n    s(x)\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "portaflow.compiler.cli", "check", str(f)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SyntaxWarning" not in proc.stderr, proc.stderr
    check_cli_output(proc.returncode, proc.stdout, proc.stderr, "check")
