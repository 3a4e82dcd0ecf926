"""Mapping over a list produced at run time, with a constant argument and a cross product."""

from __future__ import annotations

from datetime import datetime

from portaflow import pipeline, step


@step
def get_numbers() -> list[int]:
    return [1, 2, 3]


@step
def scale(x: int, factor: int) -> int:
    return x * factor


@step
def combine(left: int, right: str) -> str:
    return f"{left}-{right}"


@step
def report(scaled: list[int], pairs: list[str]) -> str:
    return f"{sorted(scaled)} {sorted(pairs)}"


@pipeline
def scale_numbers():
    numbers = get_numbers()
    # `factor` is the same for every mapped instance; `x` is mapped.
    scaled = [scale(factor=10, x=x) for x in numbers]
    pairs = [combine(left=left, right=right) for left in [1, 2] for right in ["a", "b"]]  # four instances
    report(scaled, pairs)
