"""The smallest useful pipeline: make numbers, square them, sum them up."""

from portaflow import pipeline, step


@step
def make_numbers(count: int = 5) -> list[int]:
    """Make the numbers 1..count."""
    return list(range(1, count + 1))


@step
def square(x: int) -> int:
    """Square one number."""
    return x * x


@step
def total(values: list[int]) -> int:
    """Add the squares up."""
    return sum(values)


@step
def report(result: int, label: str) -> str:
    """Say what came out."""
    message = f"{label}: {result}"
    print(message)
    return message


@pipeline
def quickstart(count: int = 5, label: str = "sum of squares"):
    """Square 1..count in parallel and add the squares up."""
    numbers = make_numbers(count)
    squares = [square(x) for x in numbers]
    result = total(squares)
    report(result, label=label)
