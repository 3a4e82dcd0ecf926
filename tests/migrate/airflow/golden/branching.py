"""Branching with @task.branch: take the "big" path or the "small" one, then join."""

from __future__ import annotations

import pendulum

from portaflow import pipeline, step


@step
def measure() -> int:
    return 7


@step
def choose(value: int) -> str:
    # The returned string is the task id to follow.
    if value > 5:
        return "big"
    return "small"


@step
def big(value: int) -> str:
    return f"big {value}"


@step
def small(value: int) -> str:
    return f"small {value}"


@step
def join() -> str:
    """Runs whichever branch was taken."""
    return "joined"


@pipeline
def branching_example():
    value = measure()
    choice = choose(value)
    if choice == "big":
        big_result = big(value)
    if choice == "small":
        small_result = small(value)
    joined = join(after=[big_result, small_result])
