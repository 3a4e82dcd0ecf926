"""Dynamic task mapping, as in Airflow's "Dynamic Task Mapping" guide."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task


@dag(start_date=datetime(2022, 3, 4), schedule=None, catchup=False)
def example_dynamic_task_mapping():
    @task
    def add_one(x: int) -> int:
        return x + 1

    @task
    def sum_it(values: list[int]) -> int:
        total = sum(values)
        print(f"Total was {total}")
        return total

    # Each number gets its own mapped task instance.
    added_values = add_one.expand(x=[1, 2, 3])
    sum_it(added_values)  # reduce: one task sees every result


example_dynamic_task_mapping()
