"""Caching off for the whole pipeline, on again for one step (ZenML's caching docs)."""

from zenml import pipeline, step


@step
def load_config() -> dict:
    return {"threshold": 0.5}


@step(enable_cache=True)  # cheap and pure: always cache it
def threshold_of(config: dict) -> float:
    return config["threshold"]


@step
def classify(threshold: float) -> list[bool]:
    return [x / 10 > threshold for x in range(10)]


@pipeline(enable_cache=False)
def uncached_pipeline():
    config = load_config()
    threshold = threshold_of(config)
    classify(threshold)


if __name__ == "__main__":
    uncached_pipeline()
