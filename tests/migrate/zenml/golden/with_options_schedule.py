"""Scheduling through `with_options`, the way ZenML's docs show it for existing pipelines."""

from portaflow import pipeline, step, Schedule


@step(cache=False)
def ping() -> str:
    return "pong"


@pipeline(schedule=Schedule(cron="*/30 * * * *"))
def heartbeat_pipeline():
    ping()


# Every 30 minutes, without caching, so each run really pings.
# Run it with: portaflow run with_options_schedule.py
