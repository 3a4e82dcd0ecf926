"""Each ZenML rule and each PF83x diagnostic on a small input, and `migrate` on broken input.

The corpus tests (test_mig_zenml_corpus.py) show whole files; these pin one rule at a
time, in the order of `RULES`, and check every diagnostic is located and hinted.
"""

from __future__ import annotations

import io
import textwrap
import tokenize

from hypothesis import given
from hypothesis import strategies as st

from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.migrate.base import MigrateResult
from portaflow.compiler.migrate.zenml import RULES, migrate


def comments(text: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [t.string for t in tokens if t.type == tokenize.COMMENT]


def run(source: str) -> MigrateResult:
    return migrate(textwrap.dedent(source).lstrip("\n"), "p.py")


def codes(result: MigrateResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def test_rules_are_documented_once() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert all("->" in r.doc for r in RULES)


def test_imports_keep_aliases_and_add_config_types() -> None:
    got = run(
        """
        from zenml import step as zstep, pipeline
        from zenml.config import ResourceSettings

        @zstep(settings={"resources": ResourceSettings(cpu_count=1)})
        def a() -> int:
            return 1

        @pipeline
        def p():
            a()
        """
    )
    assert got.code.startswith("from portaflow import step as zstep, pipeline, Resources\n")
    assert "@zstep(resources=Resources(cpu=1))" in got.code
    assert got.complete


def test_older_import_paths() -> None:
    got = run(
        """
        from zenml.steps import step
        from zenml.pipelines import pipeline

        @step
        def a() -> int:
            return 1

        @pipeline
        def p():
            a()
        """
    )
    assert got.code.startswith("from portaflow import step, pipeline\n\n@step\n")
    assert "zenml" not in got.code


def test_module_decorators() -> None:
    got = run(
        """
        import zenml

        @zenml.step(enable_cache=False)
        def a() -> int:
            return 1

        @zenml.pipeline
        def p():
            a()
        """
    )
    assert "import zenml" not in got.code
    assert "@step(cache=False)" in got.code and "@pipeline\n" in got.code
    assert got.code.startswith("from portaflow import pipeline, step\n")


def test_retry_backoff_forms() -> None:
    got = run(
        """
        from zenml import step
        from zenml.config.retry_config import StepRetryConfig

        @step(retry=StepRetryConfig(max_retries=2, delay=5, backoff=1))
        def a() -> int:
            return 1
        """
    )
    assert '@step(retries=Retry(max=2, delay=5, backoff="fixed"))' in got.code


def test_memory_units() -> None:
    got = run(
        """
        from zenml import step
        from zenml.config import ResourceSettings

        @step(settings={"resources": ResourceSettings(memory="512MiB", gpu_count=2)})
        def a() -> int:
            return 1

        @step(settings={"resources": ResourceSettings(memory="lots")})
        def b() -> int:
            return 1
        """
    )
    assert 'Resources(memory="512Mi", gpu=2)' in got.code
    assert codes(got) == ["PF834"] and not got.complete


def test_schedule_without_cron_is_dropped_with_an_error() -> None:
    got = run(
        """
        from zenml import pipeline, step
        from zenml.config.schedule import Schedule

        @step
        def a() -> int:
            return 1

        @pipeline(schedule=Schedule(interval_second=60), enable_cache=True)
        def p():
            a()
        """
    )
    assert "@pipeline\ndef p" in got.code
    assert "@step(cache=True)" in got.code
    assert codes(got) == ["PF834"]
    assert got.diagnostics[0].severity == "error"


def test_legacy_output_adds_annotated_import() -> None:
    got = run(
        """
        from zenml.steps import step, Output

        @step
        def split() -> Output(a=int, b=str):
            return 1, "x"
        """
    )
    assert "from typing import Annotated\nfrom portaflow import step\n" in got.code
    assert 'def split() -> tuple[Annotated[int, "a"], Annotated[str, "b"]]:' in got.code


def test_artifact_config_without_name_leaves_the_bare_type() -> None:
    got = run(
        """
        from typing import Annotated
        from zenml import step, ArtifactConfig

        @step
        def a() -> Annotated[int, ArtifactConfig(version="1")]:
            return 1
        """
    )
    assert "def a() -> int:" in got.code
    assert codes(got) == ["PF831"]


def test_run_call_with_computed_arguments_gets_a_partial_hint() -> None:
    got = run(
        """
        from zenml import pipeline, step

        @step
        def a(n: int) -> int:
            return n

        @pipeline
        def p(n: int = 1):
            a(n)

        N = 3
        if __name__ == "__main__":
            print("running")
            p(n=N)
        """
    )
    assert (
        'if __name__ == "__main__":\n    print("running")\n    # Run it with: portaflow run p.py\n'
        in got.code
    )
    (d,) = got.diagnostics
    assert d.code == "PF833" and "--param NAME=VALUE" in d.hint
    assert (d.line, d.col) == (14, 5)


def test_log_metadata_for_an_artifact_stays_zenml() -> None:
    got = run(
        """
        from zenml import log_metadata, step

        @step
        def a() -> int:
            log_metadata(metadata={"k": 1}, artifact_name="x")
            return 1
        """
    )
    assert got.code.startswith("from portaflow import step\nfrom zenml import log_metadata\n")
    assert codes(got) == ["PF830", "PF830"]


def test_client_use_keeps_its_import() -> None:
    got = run(
        """
        from zenml import step
        from zenml.client import Client

        @step
        def a() -> str:
            return Client().active_stack.name
        """
    )
    assert "from zenml.client import Client" in got.code
    (d,) = got.diagnostics
    assert d.code == "PF830" and (d.line, d.col) == (2, 26) and d.hint


def test_unknown_after_target() -> None:
    got = run(
        """
        from zenml import pipeline, step

        @step
        def a() -> int:
            return 1

        @pipeline
        def p():
            a(after="nothing")
        """
    )
    assert "    a()\n" in got.code
    assert codes(got) == ["PF835"]


def test_pipeline_options_for_imported_steps() -> None:
    got = run(
        """
        from zenml import pipeline
        from steps import train

        @pipeline(enable_cache=False)
        def p():
            train()
        """
    )
    assert codes(got) == ["PF836"]
    assert got.complete  # a warning: the step's own file is migrated on its own


def test_unbound_legacy_pipeline() -> None:
    got = run(
        """
        from zenml.pipelines import pipeline

        @pipeline
        def p(loader, trainer):
            trainer(loader())
        """
    )
    assert codes(got) == ["PF837"]


def test_stateful_legacy_instance_then_run() -> None:
    got = run(
        """
        from zenml.pipelines import pipeline
        from zenml.steps import step

        @step
        def load() -> int:
            return 1

        @pipeline
        def p(loader):
            loader()

        instance = p(loader=load())
        instance.run()
        """
    )
    assert "instance" not in got.code
    assert "def p():\n    load()\n" in got.code
    assert got.code.endswith("# Run it with: portaflow run p.py\n")


def test_every_zenml_code_is_produced_and_documented() -> None:
    """Each PF830-PF859 code in CODES appears in some test of this directory."""
    from pathlib import Path

    here = Path(__file__).parent
    text = "".join(p.read_text() for p in here.glob("*.py"))
    text += "".join(p.read_text() for p in (here / "golden").glob("*.txt"))
    mine = [c for c in CODES if "PF830" <= c <= "PF859"]
    assert mine
    for code in mine:
        assert text.count(code) >= 2 or f'"{code}"' in text, code


def test_syntax_error_is_located() -> None:
    got = migrate("from zenml import step\n\n@step\ndef a(:\n", "bad.py")
    (d,) = got.diagnostics
    assert d.code == "PF100" and d.line == 4 and d.col > 0
    assert got.code == "from zenml import step\n\n@step\ndef a(:\n"


@given(st.data())
def test_never_raises(data: st.DataObject) -> None:
    base = textwrap.dedent(
        """
        from zenml import pipeline, step, Model
        from zenml.config import ResourceSettings, StepRetryConfig

        @step(enable_cache=False, retry=StepRetryConfig(max_retries=2), settings={"resources": ResourceSettings(cpu_count=2)})
        def a(x: int = 1) -> int:
            return x

        @pipeline(model=Model(name="m"), enable_cache=False)
        def p(n: int = 2):  # the pipeline
            y = a(n, id="first")  # first call
            a(y, after="first")

        if __name__ == "__main__":
            p(n=3)
        """
    )
    start = data.draw(st.integers(0, len(base)))
    end = data.draw(st.integers(start, min(len(base), start + 12)))
    insert = data.draw(st.sampled_from(["", "(", ")", ",", "=", "x", ":", "\n", " ", '"', "**k"]))
    source = base[:start] + insert + base[end:]
    result = migrate(source, "fuzz.py")
    assert isinstance(result.code, str)
    for d in result.diagnostics:
        assert d.code in CODES and d.message and d.path == "fuzz.py"
    if not any(d.code == "PF100" for d in result.diagnostics):
        compile(result.code, "fuzz.py", "exec")  # the output is Python whenever the input was
        left = comments(result.code)
        for comment in comments(source):
            assert comment in left, comment
            left.remove(comment)


def test_the_doc_lists_every_rule_and_code() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "migrate" / "zenml.md").read_text()
    for rule in RULES:
        assert f"| {rule.name} |" in doc, rule.name
    for code in (c for c in CODES if "PF830" <= c <= "PF859"):
        assert f"| {code} |" in doc, code


def test_pipeline_retry_is_handed_down() -> None:
    got = run(
        """
        from zenml import pipeline, step
        from zenml.config.retry_config import StepRetryConfig

        @step
        def a() -> int:
            return 1

        @step(retry=StepRetryConfig(max_retries=5))
        def b() -> int:
            return 2

        @pipeline(retry=StepRetryConfig(max_retries=2, delay=3))
        def p():
            a()
            b()
        """
    )
    assert '@step(retries=Retry(max=2, delay=3, backoff="fixed"))\ndef a' in got.code
    assert '@step(retries=Retry(max=5, delay=0, backoff="fixed"))\ndef b' in got.code
    assert "@pipeline\ndef p" in got.code and got.complete


def test_external_artifact_of_a_literal_is_the_literal() -> None:
    got = run(
        """
        from zenml import ExternalArtifact, pipeline, step

        @step
        def plan(query: str) -> str:
            return query

        @pipeline
        def p() -> str:
            query = ExternalArtifact(value="Travel planning for Berlin")
            return plan(query)
        """
    )
    assert 'query = "Travel planning for Berlin"' in got.code
    assert got.code.startswith("from portaflow import pipeline, step\n")
    assert got.complete


def test_required_integrations_and_their_constants_go() -> None:
    got = run(
        """
        from zenml.integrations.constants import SKLEARN
        from zenml.pipelines import pipeline
        from zenml.steps import step

        @step
        def load() -> int:
            return 1

        @pipeline(enable_cache=False, required_integrations=[SKLEARN])
        def p(importer):
            importer()

        p(importer=load()).run()
        """
    )
    assert "SKLEARN" not in got.code and "zenml" not in got.code
    assert codes(got) == ["PF831", "PF833"] and got.complete
    assert "@step(cache=False)\ndef load" in got.code


def test_run_hint_never_breaks_out_of_its_comment() -> None:
    source = textwrap.dedent(
        """
        from zenml import pipeline, step

        @step
        def a(s: str) -> str:
            return s

        @pipeline
        def p(label: str = "x"):
            a(label)

        p(label="ok\\nimport os\\u2028os.system('x')")
        """
    ).lstrip("\n")
    got = migrate(source, "evil\nname.py")
    assert "import os" not in got.code and "os.system" not in got.code
    assert got.code.endswith("# Run it with: portaflow run FILE\n")
    (d,) = got.diagnostics
    assert "--param NAME=VALUE" in d.hint and "\n" not in d.message


def test_artifact_name_from_a_variable_is_an_error() -> None:
    got = run(
        """
        from typing import Annotated
        from zenml import step, ArtifactConfig

        NAME = "dataset"

        @step
        def a() -> Annotated[int, ArtifactConfig(name=NAME)]:
            return 1
        """
    )
    assert "-> Annotated[int, NAME]:" in got.code
    (d,) = got.diagnostics
    assert d.code == "PF834" and d.severity == "error" and (d.line, d.col) == (7, 47)


def test_input_too_deep_for_libcst_is_refused_not_crashed() -> None:
    # libcst's native parser overflowed the C stack on 5000 open brackets (a segfault),
    # and its visitors recurse: Python's own parser and a depth limit come first.
    for source, code in [
        ("(" * 5000, "PF100"),
        ("x = " + "[" * 199 + "]" * 199 + "\n", "PF102"),
        ("x = " + "-" * 5000 + "1\n", "PF102"),
        ("x = 1" + "+1" * 20000 + "\n", "PF102"),
        ("x = \x00\n", "PF100"),
    ]:
        got = migrate(source, "deep.py")
        assert [d.code for d in got.diagnostics] == [code]
        assert got.code == source


def test_a_byte_order_mark_stays() -> None:
    source = "\ufefffrom zenml import step\n\n\n@step\ndef a() -> int:\n    return 1\n"
    got = migrate(source, "bom.py")
    assert got.code == source.replace("zenml", "portaflow")
