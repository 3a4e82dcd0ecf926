"""The KFP dialect rule by rule: diagnostics stated inline, the untouched parts, the edges.

`cases/*.py` state their expected diagnostics mypy-style (`# E: PF802`, `# W: PF801`)
on the line that must get them; together they use every PF80x code the dialect has.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.migrate.kfp import RULES, migrate

CASES = Path(__file__).resolve().parent / "cases"
_EXPECT = re.compile(r"#\s*([EW]):\s*((?:PF\d{3}\s*)+)$")
#: The dialect's codes (PF800-PF829).
KFP_CODES = sorted(c for c in CODES if "PF800" <= c <= "PF829")


def expectations(text: str) -> dict[int, list[str]]:
    out = {}
    for no, line in enumerate(text.splitlines(), start=1):
        if m := _EXPECT.search(line):
            out[no] = sorted(m.group(2).split())
    return out


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*.py")))
def test_inline_expectations(case: str) -> None:
    text = (CASES / case).read_text(encoding="utf-8")
    result = migrate(text, case)
    got: dict[int, list[str]] = {}
    for d in result.diagnostics:
        assert d.path == case and d.line > 0 and d.col > 0 and d.hint, d
        assert d.source_line == text.splitlines()[d.line - 1], d
        severity = "error" if d.code not in ("PF801", "PF806") else "warning"
        if d.code == "PF803" and "dropped" in d.message:
            severity = "warning"
        assert d.severity == severity, d.render()
        got.setdefault(d.line, []).append(d.code)
    rendered = "\n".join(d.render() for d in result.diagnostics)
    assert {k: sorted(v) for k, v in got.items()} == expectations(text), rendered
    assert not result.complete


def test_every_code_has_a_case() -> None:
    used = set()
    for path in CASES.glob("*.py"):
        for codes in expectations(path.read_text(encoding="utf-8")).values():
            used.update(codes)
    assert used == set(KFP_CODES)


def test_rules_are_documented() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for r in RULES:
        assert "->" in r.doc, r


def test_a_file_without_kfp_is_left_alone() -> None:
    source = "import os\n\n# nothing to do\nprint(os.sep)\n"
    assert migrate(source, "x.py").code == source
    assert migrate(source, "x.py").diagnostics == []


@pytest.mark.parametrize(
    "source", ["def f(:\n", "x = (\n", "\x00", "if True:\n\tpass\n        pass\n"]
)
def test_bad_input_is_a_diagnostic_not_a_traceback(source: str) -> None:
    result = migrate(source, "bad.py")
    assert result.code == source
    assert [d.code for d in result.diagnostics] in (["PF100"], [])


def test_untouched_code_stays_byte_for_byte() -> None:
    source = textwrap.dedent(
        """\
        import json   # odd   spacing stays
        from kfp import dsl

        CONSTANT = {"a":1}  # not ours


        def helper( x ):
            return x


        @dsl.component(base_image='python:3.11')
        def one(x: int) -> int:
            return helper( x )


        @dsl.pipeline
        def p(x: int = 1):
            one(x=x)
        """
    )
    out = migrate(source, "p.py").code
    assert out.startswith(
        "import json   # odd   spacing stays\nfrom portaflow import pipeline, step\n"
    )
    assert 'CONSTANT = {"a":1}  # not ours\n\n\ndef helper( x ):\n    return x\n' in out
    assert "@step(image='python:3.11')\ndef one(x: int) -> int:\n    return helper( x )\n" in out


def test_aliases_and_module_imports() -> None:
    source = textwrap.dedent(
        """\
        import kfp
        import kfp.dsl as kd


        @kd.component
        def one(x: int) -> int:
            return x


        @kfp.dsl.pipeline(name="p")
        def p(x: int = 1):
            t = one(x=x)
            one(x=t.output)
        """
    )
    out = migrate(source, "p.py").code
    assert out.startswith("from portaflow import pipeline, step\n")
    assert "    t = one(x=x)\n    one(x=t)\n" in out


def test_kfp_names_still_used_keep_their_import() -> None:
    source = textwrap.dedent(
        """\
        from kfp import dsl
        from kfp.dsl import Dataset, Output


        @dsl.component
        def make(out: Output[Dataset]):
            print(out.uri)


        @dsl.pipeline
        def p():
            make()
        """
    )
    result = migrate(source, "p.py")
    assert "from kfp.dsl import Dataset, Output\n" in result.code
    assert "from kfp import dsl\n" not in result.code
    assert [d.code for d in result.diagnostics] == ["PF802"]


def test_several_path_outputs_become_a_tuple() -> None:
    source = textwrap.dedent(
        """\
        from kfp import dsl
        from kfp.dsl import Dataset, Model, Output


        @dsl.component
        def train(rows: int, model: Output[Model], report: Output[Dataset]):
            with open(model.path, "wb") as f:
                f.write(b"weights")
            with open(report.path, "w") as f:
                f.write(f"{rows} rows")
            print("done")


        @dsl.component
        def show(text: str) -> str:
            return text


        @dsl.pipeline
        def p(rows: int = 3):
            t = train(rows=rows)
            show(text=t.outputs["report"])
        """
    )
    result = migrate(source, "p.py")
    assert result.diagnostics == []
    out = result.code
    assert (
        'def train(rows: int) -> tuple[Annotated[bytes, "model"], Annotated[str, "report"]]:' in out
    )
    assert (
        '    model = b"weights"\n    report = f"{rows} rows"\n    print("done")\n    return model, report\n'
        in out
    )
    assert "    _t_model, t_report = train(rows=rows)\n    show(text=t_report)\n" in out
    assert out.startswith("from typing import Annotated\n\nfrom portaflow import pipeline, step\n")


CORPUS = sorted((CASES.parent / "corpus").glob("*.py"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_damaged_corpus_files_never_raise(path: Path) -> None:
    """Every 4th line dropped or unindented in turn: a result, never a traceback."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in range(0, len(lines), 4):
        changed = [] if i % 8 else [lines[i].lstrip()]
        for variant in ([*lines[:i], *changed, *lines[i + 1 :]],):
            source = "".join(variant)
            result = migrate(source, "damaged.py")
            for d in result.diagnostics:
                assert d.code in KFP_CODES or d.code in ("PF100", "PF102"), d.render()
                assert d.path == "damaged.py"


def test_task_methods_on_their_own_line_after_a_block() -> None:
    source = textwrap.dedent(
        """\
        from kfp import dsl


        @dsl.component
        def one(x: int) -> int:
            return x


        @dsl.component
        def two(x: int) -> int:
            return x


        @dsl.pipeline
        def p(x: int = 1):
            t = one(x=x)
            with dsl.If(x == 1):
                two(x=t.output)
            # no cache for t
            t.set_caching_options(False)
            two(x=2).after(t)
        """
    )
    result = migrate(source, "p.py")
    assert result.diagnostics == []
    assert "@step(cache=False)\ndef one" in result.code
    assert "        two(x=t)\n    # no cache for t\n    two(x=2, after=[t])\n" in result.code


def test_kfp_v2_spellings_and_condition() -> None:
    source = textwrap.dedent(
        """\
        from kfp.v2 import dsl
        from kfp.v2.dsl import component


        @component
        def flip() -> str:
            return "heads"


        @dsl.pipeline(name="old-style")
        def p():
            f = flip()
            with dsl.Condition(f.output == "heads", name="is-heads"):
                flip()
        """
    )
    result = migrate(source, "p.py")
    assert result.diagnostics == []
    assert "@step\ndef flip() -> str:" in result.code
    assert '    f = flip()\n    if f == "heads":\n        flip()\n' in result.code


def test_after_joins_a_call_written_one_argument_a_line() -> None:
    source = textwrap.dedent(
        """\
        from kfp import dsl


        @dsl.component
        def one(x: int, y: int = 0) -> int:
            return x


        @dsl.pipeline
        def p(x: int = 1):
            t = one(x=x)
            one(
                x=x,
                y=2,
            ).after(t)
        """
    )
    out = migrate(source, "p.py").code
    assert "    one(\n        x=x,\n        y=2,\n        after=[t],\n    )\n" in out
