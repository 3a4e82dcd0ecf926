# Python's parser accepts this file; its compiler does not (PF103).
from portaflow import pipeline, step


@step
def make(n: int = 1) -> int:
    return n


def helper(a, a):  # E: PF103
    return a


@pipeline
def numbers(n: int = 3):
    make(n)
