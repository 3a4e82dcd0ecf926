"""Steps that ask for compute and retry on failure (ZenML's step configuration docs)."""

from zenml import pipeline, step
from zenml.config import ResourceSettings
from zenml.config.retry_config import StepRetryConfig


@step(
    enable_cache=False,
    retry=StepRetryConfig(max_retries=3, delay=10, backoff=2),
)
def fetch_numbers() -> list[int]:
    # A flaky source in real life: retried three times, waiting 10 s, then 20 s, ...
    return [3, 1, 4, 1, 5, 9, 2, 6]


@step(
    settings={
        # Two CPUs, 4 GB and one GPU for the heavy step.
        "resources": ResourceSettings(cpu_count=2, memory="4GB", gpu_count=1)
    }
)
def total(numbers: list[int]) -> int:
    return sum(numbers)


@step(retry=StepRetryConfig(max_retries=1), name="largest_value")
def largest(numbers: list[int]) -> int:
    return max(numbers)


@pipeline
def resources_pipeline():
    numbers = fetch_numbers()
    total(numbers)
    largest(numbers)


if __name__ == "__main__":
    resources_pipeline()
