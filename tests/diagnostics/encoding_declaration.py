# -*- coding: no-such-codec -*-  # E: PF104
from portaflow import pipeline, step


@step
def make(n: int = 1) -> int:
    return n


@pipeline
def numbers(n: int = 3):
    make(n)
