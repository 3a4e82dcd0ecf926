"""Fan-out and fan-in: dsl.ParallelFor and dsl.Collected (KFP docs, "Parallel looping")."""

from typing import List

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def make_numbers(count: int) -> List[int]:
    return list(range(1, count + 1))


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def square(x: int) -> int:
    return x * x


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def add_up(values: List[int]) -> int:
    # The collected list holds one result per iteration.
    return sum(values)


@dsl.pipeline(name="collected")
def collecting_pipeline(count: int = 4) -> int:
    numbers = make_numbers(count=count)
    with dsl.ParallelFor(numbers.output) as x:
        # one task per number
        squared = square(x=x)
    return add_up(values=dsl.Collected(squared.output)).output
