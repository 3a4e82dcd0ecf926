import pandas as pd

from portaflow import pipeline, step


@step
def score() -> float:
    return 1.0


@step
def frame() -> pd.DataFrame:
    return pd.DataFrame()


@step
def act(x: float) -> float:
    return x


@pipeline
def p(threshold: float = 0.5):
    s = score()
    if frame():  # E: PF222
        act(s)
    if s > threshold:
        inside = act(s)
    else:
        act(s)
    act(inside)  # E: PF234
    if s is threshold:  # E: PF201
        act(s)
    if s is not None and s >= 0.1:
        act(s)
