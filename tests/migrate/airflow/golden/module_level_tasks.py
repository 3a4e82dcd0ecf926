"""Tasks at module level, shared by a DAG, run locally with dag.test() (Airflow 2 imports)."""

from __future__ import annotations

import pendulum

from portaflow import Schedule, pipeline, step


@step
def get_words() -> list[str]:
    return ["apache", "airflow", "taskflow"]


@step
def count_letters(word: str) -> int:
    return len(word)


@step
def longest(counts: list[int]) -> int:
    return max(counts)


# weekdays at 02:30
@pipeline(schedule=Schedule(cron="30 2 * * 1-5", timezone="UTC"))
def word_lengths():
    counts = [count_letters(word=word) for word in get_words()]
    longest(counts)
