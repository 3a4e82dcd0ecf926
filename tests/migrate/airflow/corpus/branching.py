"""Branching with @task.branch: take the "big" path or the "small" one, then join."""

from __future__ import annotations

import pendulum

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2023, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "branching"],
)
def branching_example():
    @task
    def measure() -> int:
        return 7

    @task.branch
    def choose(value: int) -> str:
        # The returned string is the task id to follow.
        if value > 5:
            return "big"
        return "small"

    @task
    def big(value: int) -> str:
        return f"big {value}"

    @task
    def small(value: int) -> str:
        return f"small {value}"

    @task(trigger_rule="none_failed_min_one_success")
    def join() -> str:
        """Runs whichever branch was taken."""
        return "joined"

    value = measure()
    choice = choose(value)
    big_result = big(value)
    small_result = small(value)
    joined = join()
    choice >> [big_result, small_result]
    [big_result, small_result] >> joined


branching_example()
