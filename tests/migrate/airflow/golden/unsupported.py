"""Constructs the migration leaves for a person, each with a located diagnostic."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import get_current_context, task
from portaflow import pipeline, step


@step  # pools are Airflow's own
def stamp(**context) -> str:
    return context["ds"]


@step
def who_am_i() -> str:
    ctx = get_current_context()
    return ctx["ti"].task_id


@task.bash
def shell() -> str:
    return "echo hi"


@step
def show(value: str) -> None:
    print(value)


@pipeline
def leftovers():
    show(stamp())
    show.override(task_id="show_again")(who_am_i())
    show("{{ ds }}")
    shell()
