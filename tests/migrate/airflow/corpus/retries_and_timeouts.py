"""Retries, retry delays and timeouts, from default_args and per task."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "email_on_failure": False,
}


@dag(
    dag_id="resilient_ingest",
    default_args=default_args,
    schedule="0 6 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
)
def resilient():
    @task(retries=5, retry_delay=timedelta(seconds=30), retry_exponential_backoff=True)
    def fetch() -> list[int]:
        """The flaky API call: many quick retries, backing off."""
        return [3, 1, 2]

    @task(execution_timeout=timedelta(hours=1))
    def crunch(rows: list[int]) -> int:
        return sum(rows)

    @task
    def publish(total: int) -> None:
        print(f"total={total}")

    publish(crunch(fetch()))


resilient()
