"""Chained tasks: the output of one component feeds the next (KFP docs, "Pipeline basics")."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def add(a: float, b: float) -> float:
    """Calculates sum of two arguments"""
    return a + b


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def multiply(a: float, b: float) -> float:
    return a * b


@dsl.pipeline(
    name="addition-pipeline",
    description="An example pipeline that performs addition calculations.",
)
def add_pipeline(a: float = 1.0, b: float = 7.0):
    # The first task adds the two parameters.
    first_add_task = add(a=a, b=4.0)
    # The second one takes the first task's output.
    second_add_task = add(a=first_add_task.output, b=b)
    multiply(a=second_add_task.output, b=2.0)  # and doubles it
