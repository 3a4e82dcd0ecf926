from typing import Annotated

import pandas as pd

from portaflow import pipeline, step


@step
def load() -> pd.DataFrame:
    return pd.DataFrame()


@step
def split(df: pd.DataFrame) -> tuple[Annotated[pd.DataFrame, "a"], Annotated[pd.DataFrame, "b"]]:
    return df, df


@step
def count(n: int, label: str = "x") -> int:
    return n


@step
def nothing() -> None:
    pass


@step
def needs_frame(df: pd.DataFrame) -> int:
    return len(df)


@pipeline
def p(n: int = 3, name: str = "a"):
    df = load()
    count(n, lable="y")  # E: PF210
    count()  # E: PF211
    count(n, "a", 3)  # E: PF212
    count(n, n=4)  # E: PF213
    a, b, c = split(df)  # E: PF214
    both = split(df)  # E: PF215
    count(nothing())  # E: PF216
    count(df)  # E: PF220
    count(name)  # E: PF221
    needs_frame("a path")  # E: PF221
    count("three")  # E: PF221
    x, y = split(df)
    needs_frame(x, after=[y])
