# Several named outputs from one step, as in ZenML's "return multiple outputs" guide.
from typing import Annotated, Tuple

import pandas as pd
from portaflow import pipeline, step


@step
def load_frame() -> pd.DataFrame:
    return pd.DataFrame({"feature": list(range(10)), "label": [i % 2 for i in range(10)]})


@step
def split_frame(
    df: pd.DataFrame, test_size: float = 0.3
) -> Tuple[
    Annotated[pd.DataFrame, "train"],
    Annotated[pd.DataFrame, "test"],
]:
    cut = int(len(df) * (1 - test_size))
    return df.iloc[:cut], df.iloc[cut:]


@step
def count_rows(train: pd.DataFrame, test: pd.DataFrame) -> Tuple[int, int]:
    # Unnamed tuple outputs are called output_0, output_1.
    return len(train), len(test)


@pipeline
def split_pipeline():
    df = load_frame()
    train, test = split_frame(df, test_size=0.2)
    count_rows(train, test)


# Run it with: portaflow run multiple_outputs.py
