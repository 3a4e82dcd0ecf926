"""Property tests: random valid pipelines compile to exactly their DAG; mutations never crash."""

from __future__ import annotations

import os
import random
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portaflow.compiler import irjson
from portaflow.compiler.frontend import analyze
from portaflow.compiler.graph import dependency_pairs
from strategies import GeneratedPipeline, pipelines

# HYPOTHESIS_EXAMPLES=2000 for a thorough local hunt; the default keeps the suite fast.
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _compile(source: str) -> object:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pipeline.py"
        f.write_text(source)
        return analyze(f, root=tmp)


@SETTINGS
@given(pipelines())
def test_valid_pipelines_compile_to_their_dag(gen: GeneratedPipeline) -> None:
    result = _compile(gen.source)
    errors = [d.render() for d in result.errors]  # type: ignore[attr-defined]
    assert not errors, "\n".join(errors) + "\n\n" + gen.source
    p = result.pipeline  # type: ignore[attr-defined]
    assert {t.id for t in p.tasks} == gen.tasks
    assert dependency_pairs(p) == gen.edges, gen.source
    assert {t.id for t in p.tasks if t.loop} == gen.looped
    assert {t.id for t in p.tasks if t.condition} == gen.conditional
    # Deterministic and round-trippable.
    text = irjson.dumps(p)
    assert irjson.dumps(_compile(gen.source).pipeline) == text  # type: ignore[attr-defined]
    assert irjson.loads(text) == p


_INSERTS = [
    "while v1:\n    pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "x = v1 + 1",
    "import os",
    "v1.attr",
    "print(v1)",
    "s0(*v1)",
    "s0(**v1)",
    "lambda: 1",
    "for a in v1:\n    for b in a:\n        for c in b:\n            s0(c)",
    "return v1",
    "if v1 is 3:\n    pass",
    "y = f'{v1}'",
    "z = [s0(q) for q in range(v1)]",
    "with x:\n    pass",
    "v1, v2, v3, v4 = s0()",
    "generated()",
    "async def f():\n    pass",
    "yield v1",
    "del v1",
    "s0(after=[nope])",
    "s0(after=v1 + 1)",
    "global g",
    "@step\ndef q(): pass",
]


def _mutate(source: str, rnd: random.Random) -> str:
    lines = source.split("\n")
    kind = rnd.choice(["delete", "swap", "insert", "duplicate", "replace", "truncate"])
    tokens = list(re.finditer(r"\w+|[^\w\s]", source))
    if kind == "delete" and tokens:
        t = rnd.choice(tokens)
        return source[: t.start()] + source[t.end() :]
    if kind == "swap":
        names = [t for t in tokens if t.group().isidentifier()]
        if len(names) >= 2:
            a, b = sorted(rnd.sample(names, 2), key=lambda m: m.start())
            return (
                source[: a.start()]
                + b.group()
                + source[a.end() : b.start()]
                + a.group()
                + source[b.end() :]
            )
    if kind == "insert":
        body_start = next((i for i, ln in enumerate(lines) if ln.startswith("def generated")), 0)
        at = rnd.randint(body_start + 1, len(lines))
        stmt = rnd.choice(_INSERTS)
        indent = "    " * rnd.choice([1, 1, 1, 2, 0])
        block = "\n".join(indent + s for s in stmt.split("\n"))
        return "\n".join(lines[:at] + [block] + lines[at:])
    if kind == "duplicate" and lines:
        i = rnd.randrange(len(lines))
        return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind == "replace" and tokens:
        t = rnd.choice(tokens)
        new = rnd.choice(["None", "1", "'s'", "s0", "v1", "p_list", "(", ":", "generated", "step"])
        return source[: t.start()] + new + source[t.end() :]
    if kind == "truncate":
        return source[: rnd.randrange(len(source) + 1)]
    return source


@SETTINGS
@given(pipelines(max_steps=6), st.randoms(use_true_random=False), st.integers(1, 3))
def test_mutated_pipelines_give_diagnostics_never_exceptions(
    gen: GeneratedPipeline, rnd: random.Random, rounds: int
) -> None:
    source = gen.source
    for _ in range(rounds):
        source = _mutate(source, rnd)
    result = _compile(source)  # analyze never raises; a crash would surface as PF001
    codes = [d.code for d in result.diagnostics]  # type: ignore[attr-defined]
    assert "PF001" not in codes, "\n".join(d.render() for d in result.diagnostics) + "\n\n" + source  # type: ignore[attr-defined]
    if result.pipeline is None:  # type: ignore[attr-defined]
        assert result.errors, source  # type: ignore[attr-defined]
        for d in result.errors:  # type: ignore[attr-defined]
            assert d.message and d.code.startswith("PF")
