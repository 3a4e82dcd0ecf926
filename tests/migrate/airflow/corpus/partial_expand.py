"""Mapping over a list produced at run time, with a constant argument and a cross product."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def scale_numbers():
    @task
    def get_numbers() -> list[int]:
        return [1, 2, 3]

    @task
    def scale(x: int, factor: int) -> int:
        return x * factor

    @task
    def combine(left: int, right: str) -> str:
        return f"{left}-{right}"

    @task
    def report(scaled: list[int], pairs: list[str]) -> str:
        return f"{sorted(scaled)} {sorted(pairs)}"

    numbers = get_numbers()
    # `factor` is the same for every mapped instance; `x` is mapped.
    scaled = scale.partial(factor=10).expand(x=numbers)
    pairs = combine.expand(left=[1, 2], right=["a", "b"])  # four instances
    report(scaled, pairs)


scale_numbers()
