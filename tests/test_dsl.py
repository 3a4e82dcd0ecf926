"""The user-facing DSL at run time: steps stay plain functions; pipelines are compiled, not called."""

from __future__ import annotations

import dataclasses

import pytest

import portaflow
from portaflow import Model, Resources, Retry, Schedule, pipeline, step


@step
def add(a: int, b: int = 1) -> int:
    """Add."""
    return a + b


@step(retries=Retry(max=2), resources=Resources(cpu=2, memory="1Gi"), env={"A": "1"}, cache=False)
def configured(x: int) -> int:
    return x * 2


@pipeline(schedule=Schedule(cron="0 3 * * *"), model=Model(name="m"))
def flow(n: int = 1) -> None:
    add(n)


def test_steps_run_as_plain_functions() -> None:
    assert add(2) == 3
    assert add(2, b=5) == 7
    assert configured(4) == 8
    assert add.__doc__ == "Add." and add.__name__ == "add"
    assert add.func(1, 1) == 2


def test_decorator_options_are_kept() -> None:
    assert configured.options.retries == Retry(max=2)
    assert configured.options.cache is False
    assert dict(configured.options.env) == {"A": "1"}
    assert add.options.cache is True
    assert flow.options.schedule == Schedule(cron="0 3 * * *")


def test_calling_a_pipeline_says_how_to_run_it() -> None:
    with pytest.raises(RuntimeError, match="portaflow run"):
        flow(2)


def test_config_types_are_frozen() -> None:
    r = Retry(max=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.max = 2  # type: ignore[misc]


def test_public_names() -> None:
    for name in ("step", "pipeline", "Retry", "Resources", "Schedule", "Model", "__version__"):
        assert hasattr(portaflow, name)
