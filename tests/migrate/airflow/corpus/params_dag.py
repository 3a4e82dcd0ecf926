"""DAG params: a typed Param, a plain default, a DAG function argument and a template."""

from __future__ import annotations

import pendulum

from airflow.sdk import Param, dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    render_template_as_native_obj=True,  # "{{ params.n }}" renders to an int
    params={
        "n": Param(3, type="integer", minimum=1),  # how many greetings
        "name": "world",
        "loud": Param(False, type="boolean"),
    },
)
def greetings(greeting="hello"):
    @task
    def make(greeting: str, name: str, n: int) -> list[str]:
        return [f"{greeting}, {name}!"] * n

    @task
    def shout(lines: list[str], loud: bool) -> str:
        text = "\n".join(lines)
        return text.upper() if loud else text

    lines = make(greeting, "{{ params.name }}", n="{{ params.n }}")
    shout(lines, loud="{{ params.loud }}")


greetings()
