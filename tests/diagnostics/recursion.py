# pipeline: outer
from portaflow import pipeline, step


@step
def one() -> int:
    return 1


@pipeline
def inner():
    one()
    outer()  # E: PF240


@pipeline
def outer():
    inner()
