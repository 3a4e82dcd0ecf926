"""Tasks at module level, shared by a DAG, run locally with dag.test() (Airflow 2 imports)."""

from __future__ import annotations

import pendulum

from airflow.decorators import dag, task


@task
def get_words() -> list[str]:
    return ["apache", "airflow", "taskflow"]


@task
def count_letters(word: str) -> int:
    return len(word)


@task
def longest(counts: list[int]) -> int:
    return max(counts)


@dag(
    schedule="30 2 * * 1-5",  # weekdays at 02:30
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
)
def word_lengths():
    counts = count_letters.expand(word=get_words())
    longest(counts)


dag_object = word_lengths()

if __name__ == "__main__":
    dag_object.test()
