"""Retries, retry delays and timeouts, from default_args and per task."""

from __future__ import annotations

from datetime import datetime, timedelta

from portaflow import Retry, Schedule, pipeline, step

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "email_on_failure": False,
}


@step(retries=Retry(max=5, delay="30s", backoff="exponential"))
def fetch() -> list[int]:
    """The flaky API call: many quick retries, backing off."""
    return [3, 1, 2]


@step(retries=Retry(max=2, delay="5m", backoff="fixed"), timeout="1h")
def crunch(rows: list[int]) -> int:
    return sum(rows)


@step(retries=Retry(max=2, delay="5m", backoff="fixed"))
def publish(total: int) -> None:
    print(f"total={total}")


@pipeline(name="resilient_ingest", schedule=Schedule(cron="0 6 * * *"))
def resilient():
    publish(crunch(fetch()))
