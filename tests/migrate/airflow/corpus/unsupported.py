"""Constructs the migration leaves for a person, each with a located diagnostic."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task


@dag(
    schedule="@once",
    start_date=datetime(2024, 1, 1),
    on_failure_callback=lambda context: print("failed"),
)
def leftovers():
    @task(pool="small_pool")  # pools are Airflow's own
    def stamp(**context) -> str:
        return context["ds"]

    @task
    def who_am_i() -> str:
        ctx = get_current_context()
        return ctx["ti"].task_id

    @task.bash
    def shell() -> str:
        return "echo hi"

    @task
    def show(value: str) -> None:
        print(value)

    show(stamp())
    show.override(task_id="show_again")(who_am_i())
    show("{{ ds }}")
    shell()


leftovers()
