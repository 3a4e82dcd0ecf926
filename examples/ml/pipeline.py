"""Train a regressor, evaluate it, check the newest data for drift, then promote or alert.

The classic ingest -> train -> evaluate -> drift-check flow. The steps use
pandas, scikit-learn and SciPy; compiling this file needs none of them,
because `portaflow compile` reads it without importing it.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from portaflow import Model, Resources, Retry, Schedule, log_metric, pipeline, step

FEATURES = 6


@step
def ingest(n_samples: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Make a regression data set (a stand-in for reading a warehouse table)."""
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=n_samples, n_features=FEATURES, noise=10.0, random_state=seed)
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    df["target"] = y
    return df


@step
def split(
    df: pd.DataFrame, test_size: float = 0.25, seed: int = 7
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    """Hold out a test set."""
    test = df.sample(frac=test_size, random_state=seed)
    return df.drop(test.index), test


@step(
    retries=Retry(max=2, backoff="exponential", delay="5s"),
    timeout="30m",
    resources=Resources(cpu=2, memory="4Gi"),
    env={"OMP_NUM_THREADS": "2"},
)
def train(
    train_df: pd.DataFrame, n_estimators: int = 100, max_depth: int | None = None
) -> Annotated[RandomForestRegressor, "model"]:
    """Fit a random forest on every feature column."""
    model = RandomForestRegressor(
        n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1
    )
    model.fit(train_df.drop(columns="target"), train_df["target"])
    return model


@step
def evaluate(model: RandomForestRegressor, test_df: pd.DataFrame) -> Annotated[float, "rmse"]:
    """Root mean squared error on the held-out set."""
    predictions = model.predict(test_df.drop(columns="target"))
    rmse = float(((predictions - test_df["target"]) ** 2).mean() ** 0.5)
    log_metric("rmse", rmse)
    return rmse


@step
def ingest_fresh(shift: float = 0.0, n_samples: int = 500, seed: int = 11) -> pd.DataFrame:
    """The newest batch of production data; `shift` simulates a changed world."""
    df = ingest.func(n_samples=n_samples, seed=seed)
    features = [c for c in df.columns if c != "target"]
    df[features] = df[features] + shift
    return df


@step
def check_drift(
    reference: pd.DataFrame, current: pd.DataFrame, p_threshold: float = 0.01
) -> Annotated[bool, "drifted"]:
    """Two-sample Kolmogorov-Smirnov test per feature; drift if any p-value is below the threshold."""
    from scipy.stats import ks_2samp

    drifted = []
    for column in reference.columns:
        if column == "target":
            continue
        result = ks_2samp(reference[column], current[column])
        log_metric(f"ks_pvalue_{column}", float(result.pvalue))
        if result.pvalue < p_threshold:
            drifted.append(column)
    log_metric("drifted_features", len(drifted))
    return bool(drifted)


@step
def combine(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Old training data plus the fresh batch."""
    return pd.concat([old, new], ignore_index=True)


@step
def alert(rmse: float, reason: str) -> str:
    """Tell the on-call engineer (printed here; a webhook in real life)."""
    message = f"ALERT: {reason} (current model rmse={rmse:.3f})"
    print(message)
    return message


@step
def promote(model: RandomForestRegressor, rmse: float) -> Annotated[str, "stage"]:
    """Mark the model as ready for production."""
    print(f"promoting model with rmse={rmse:.3f}")
    return "production"


@pipeline(schedule=Schedule(cron="0 3 * * *", timezone="UTC"), model=Model(name="regressor"))
def ml_pipeline(n_estimators: int = 100, drift_shift: float = 0.0, max_rmse: float = 60.0):
    """Ingest, train, evaluate; retrain and alert on drift, else promote a good model."""
    df = ingest()
    train_df, test_df = split(df)
    model = train(train_df, n_estimators=n_estimators)
    rmse = evaluate(model, test_df)
    fresh = ingest_fresh(shift=drift_shift)
    if check_drift(train_df, fresh):
        alert(rmse, reason="data drift")
        retrained = train(combine(train_df, fresh), n_estimators=n_estimators)
        evaluate(retrained, test_df)
    elif rmse < max_rmse:
        promote(model, rmse)
    else:
        alert(rmse, reason="rmse above threshold")
