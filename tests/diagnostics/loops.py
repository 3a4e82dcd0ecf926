import pandas as pd

from portaflow import pipeline, step


@step
def items() -> list[str]:
    return ["a"]


@step
def frame() -> pd.DataFrame:
    return pd.DataFrame()


@step
def work(x: str) -> int:
    return 1


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def p(n: int = 3, names: list[str] = ["a", "b"], label: str = "l"):
    for x in label:  # E: PF230
        work(x)
    for x in frame():  # E: PF230
        work(x)
    for a in names:
        for b in names:
            for c in names:  # E: PF231
                work(c)
    r = [work(x) for x in names if x]  # E: PF232
    for x in names:
        one = work(x)
    total(one)  # E: PF233
    results = [work(x) for x in items()]
    total(results)
    for x in names:
        pass
    else:
        pass  # E: PF200
