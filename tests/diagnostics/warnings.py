from portaflow import pipeline, step
from pkg.present import real


@step
def unused_step() -> int:  # W: PF901
    return 1


@pipeline
def p(unused: int = 1):  # W: PF902
    x = real()  # W: PF900
    _y = real()
