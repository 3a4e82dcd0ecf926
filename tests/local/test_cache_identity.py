"""The local cache key covers the step's env, secret names and image, not only its code."""

from __future__ import annotations

from irkit import Builder, param, step
from localkit import Runner, assert_ok
from portaflow.backends.local.cache import cache_key
from portaflow.backends.local.plan import ParamValue
from portaflow.compiler import ir

CONST = step("steps:const", {"value": "int"}, {"output": "int"})


def _pipeline(const: ir.StepDef = CONST) -> ir.Pipeline:
    b = Builder(params={"x": ("int", 3)})
    b.task("const", const, {"value": param("x")})
    return b.build()


def _key(**config: object) -> str | None:
    s = step("steps:const", {"value": "int"}, {"output": "int"}, **config)
    return cache_key(s, s.config.image, {"value": ParamValue(value=3)})


def test_env_secret_names_and_image_are_in_the_key() -> None:
    base = _key(env=(("MODE", "a"),), secrets=("creds",))
    assert base is not None and base == _key(env=(("MODE", "a"),), secrets=("creds",))
    assert _key(env=(("MODE", "b"),), secrets=("creds",)) != base
    assert _key(env=(("MODE", "a"), ("X", "1")), secrets=("creds",)) != base
    assert _key(env=(("MODE", "a"),), secrets=("other",)) != base
    assert _key(env=(("MODE", "a"),), secrets=()) != base
    assert _key(env=(("MODE", "a"),), secrets=("creds",), image="python:3.12") != base


def test_a_changed_env_reruns_the_step_and_the_same_env_reuses_it(run: Runner) -> None:
    with_env = step("steps:const", {"value": "int"}, {"output": "int"}, env=(("MODE", "a"),))
    assert_ok(run(_pipeline(with_env)))
    again = run(_pipeline(with_env))
    assert again.by_state("cached") == ["const"]
    changed = step("steps:const", {"value": "int"}, {"output": "int"}, env=(("MODE", "b"),))
    result = run(_pipeline(changed))
    assert_ok(result)
    assert result.by_state("succeeded") == ["const"]
