"""A pipeline built from another pipeline, with a failure hook (ZenML's composition and hooks docs)."""

from portaflow import pipeline, step


def notify_on_failure(exception: BaseException) -> None:
    """A ZenML hook: a plain function that gets the exception."""
    print(f"step failed: {exception}")


@step(cache=False)
def load_numbers(n: int = 5) -> list[int]:
    return list(range(n))


@step(cache=False)  # alert someone when training fails
def train(numbers: list[int], epochs: int = 1) -> float:
    return sum(numbers) / len(numbers) * epochs


@pipeline
def data_loading(n: int = 5) -> list[int]:
    numbers = load_numbers(n=n)
    return numbers


@pipeline
def training(n: int = 5, epochs: int = 2):
    # The sub-pipeline's steps become part of this run.
    numbers = data_loading(n=n)
    train(numbers, epochs=epochs)


# Run it with: portaflow run composition_hooks.py
