"""Scheduling through `with_options`, the way ZenML's docs show it for existing pipelines."""

from zenml import pipeline, step
from zenml.config.schedule import Schedule


@step
def ping() -> str:
    return "pong"


@pipeline
def heartbeat_pipeline():
    ping()


# Every 30 minutes, without caching, so each run really pings.
schedule = Schedule(name="heartbeat", cron_expression="*/30 * * * *")
heartbeat_pipeline.with_options(schedule=schedule, enable_cache=False)()
