"""Steps that ask for compute and retry on failure (ZenML's step configuration docs)."""

from portaflow import pipeline, step, Resources, Retry


@step(
    cache=False,
    retries=Retry(max=3, delay=10, backoff="exponential", factor=2),
)
def fetch_numbers() -> list[int]:
    # A flaky source in real life: retried three times, waiting 10 s, then 20 s, ...
    return [3, 1, 4, 1, 5, 9, 2, 6]


# Two CPUs, 4 GB and one GPU for the heavy step.
@step(
    resources=Resources(cpu=2, memory="4G", gpu=1)
)
def total(numbers: list[int]) -> int:
    return sum(numbers)


@step(retries=Retry(max=1, delay=0, backoff="fixed"), name="largest_value")
def largest(numbers: list[int]) -> int:
    return max(numbers)


@pipeline
def resources_pipeline():
    numbers = fetch_numbers()
    total(numbers)
    largest(numbers)


# Run it with: portaflow run retry_resources.py
