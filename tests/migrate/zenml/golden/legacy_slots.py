# A pipeline in ZenML's older API (0.2x-0.3x): steps passed into the pipeline as slots.
import numpy as np
from typing import Annotated
from portaflow import pipeline, step


@step
def importer() -> tuple[Annotated[np.ndarray, "X_train"], Annotated[np.ndarray, "y_train"]]:
    """Load a tiny training set."""
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    return X, 2 * X[:, 0]


@step(cache=False)
def trainer(X_train: np.ndarray, y_train: np.ndarray) -> float:
    slope = float(np.polyfit(X_train[:, 0], y_train, 1)[0])
    return round(slope, 6)


@pipeline
def training_pipeline():
    X_train, y_train = importer()
    trainer(X_train=X_train, y_train=y_train)


# Bind the slots and run.
# Run it with: portaflow run legacy_slots.py
