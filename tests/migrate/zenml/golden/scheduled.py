# A nightly retraining pipeline, scheduled with a cron expression (ZenML's scheduling docs).
from portaflow import Model, pipeline, step, Schedule


@step
def extract() -> dict:
    return {"rows": 1200, "source": "warehouse"}


@step
def retrain(stats: dict) -> float:
    return stats["rows"] / 1000.0


@pipeline(
    model=Model(name="nightly_model", description="retrained every night", tags=["nightly"]),
    schedule=Schedule(cron="0 3 * * *"),  # every day at 03:00
)
def nightly_pipeline():
    stats = extract()
    retrain(stats)


# Run it with: portaflow run scheduled.py
