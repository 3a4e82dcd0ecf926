"""Chained tasks: the output of one component feeds the next (KFP docs, "Pipeline basics")."""

from portaflow import pipeline, step


@step(image="python:3.11")
def add(a: float, b: float) -> float:
    """Calculates sum of two arguments"""
    return a + b


@step(image="python:3.11")
def multiply(a: float, b: float) -> float:
    return a * b


@pipeline(name="addition-pipeline")
def add_pipeline(a: float = 1.0, b: float = 7.0):
    # The first task adds the two parameters.
    first_add_task = add(a=a, b=4.0)
    # The second one takes the first task's output.
    second_add_task = add(a=first_add_task, b=b)
    multiply(a=second_add_task, b=2.0)  # and doubles it
