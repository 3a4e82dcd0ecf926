"""Caching off for the whole pipeline, on again for one step (ZenML's caching docs)."""

from portaflow import pipeline, step


@step(cache=False)
def load_config() -> dict:
    return {"threshold": 0.5}


@step(cache=True)  # cheap and pure: always cache it
def threshold_of(config: dict) -> float:
    return config["threshold"]


@step(cache=False)
def classify(threshold: float) -> list[bool]:
    return [x / 10 > threshold for x in range(10)]


@pipeline
def uncached_pipeline():
    config = load_config()
    threshold = threshold_of(config)
    classify(threshold)


# Run it with: portaflow run caching.py
