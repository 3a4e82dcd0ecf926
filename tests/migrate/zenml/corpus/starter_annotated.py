"""Starter pipeline: load a dataset, fit a line, report the fit (ZenML starter template)."""

from typing import Annotated

import numpy as np
import pandas as pd
from zenml import ArtifactConfig, pipeline, step
from zenml.logger import get_logger

logger = get_logger(__name__)


@step
def load_data(n_rows: int = 50) -> Annotated[pd.DataFrame, ArtifactConfig(name="dataset")]:
    """Synthetic data so the example needs no download."""
    x = np.arange(n_rows, dtype=float)
    return pd.DataFrame({"x": x, "y": 3.0 * x + 2.0})


@step
def fit_line(dataset: pd.DataFrame) -> Annotated[list[float], "coefficients"]:
    # Least squares with numpy: slope and intercept.
    slope, intercept = np.polyfit(dataset["x"], dataset["y"], 1)
    logger.info("fitted slope %s", slope)
    return [round(float(slope), 6), round(float(intercept), 6)]


@step
def report(
    coefficients: list[float],
) -> Annotated[str, ArtifactConfig(name="summary", tags=["report"])]:
    return f"y = {coefficients[0]} * x + {coefficients[1]}"


@pipeline
def starter_pipeline(n_rows: int = 50):
    """Load, fit, report."""
    dataset = load_data(n_rows=n_rows)
    coefficients = fit_line(dataset)
    report(coefficients)


if __name__ == "__main__":
    starter_pipeline(n_rows=40)
