"""Dynamic task mapping, as in Airflow's "Dynamic Task Mapping" guide."""

from __future__ import annotations

from datetime import datetime

from portaflow import pipeline, step


@step
def add_one(x: int) -> int:
    return x + 1


@step
def sum_it(values: list[int]) -> int:
    total = sum(values)
    print(f"Total was {total}")
    return total


@pipeline
def example_dynamic_task_mapping():
    # Each number gets its own mapped task instance.
    added_values = [add_one(x=x) for x in [1, 2, 3]]
    sum_it(added_values)  # reduce: one task sees every result
