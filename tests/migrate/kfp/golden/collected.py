"""Fan-out and fan-in: dsl.ParallelFor and dsl.Collected (KFP docs, "Parallel looping")."""

from typing import List

from portaflow import pipeline, step


@step(image="python:3.11")
def make_numbers(count: int) -> List[int]:
    return list(range(1, count + 1))


@step(image="python:3.11")
def square(x: int) -> int:
    return x * x


@step(image="python:3.11")
def add_up(values: List[int]) -> int:
    # The collected list holds one result per iteration.
    return sum(values)


@pipeline(name="collected")
def collecting_pipeline(count: int = 4) -> int:
    numbers = make_numbers(count=count)
    # one task per number
    squared = [square(x=x) for x in numbers]
    return add_up(values=squared)
