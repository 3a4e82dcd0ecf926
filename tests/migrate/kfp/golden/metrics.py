"""Logging metrics from a component with Output[Metrics] (KFP samples, metrics visualization)."""

from portaflow import log_metric, pipeline, step


@step(image="python:3.11")
def evaluate(threshold: float) -> float:
    accuracy = 0.9 if threshold < 0.5 else 0.7
    # Each log_metric call adds one scalar to the metrics artifact.
    log_metric("accuracy", accuracy)
    log_metric("threshold", threshold)
    return accuracy


@step(image="python:3.11")
def decide(accuracy: float) -> str:
    return "deploy" if accuracy > 0.8 else "hold"


@pipeline(name="metrics")
def metrics_pipeline(threshold: float = 0.3):
    eval_task = evaluate(threshold=threshold)
    decide(accuracy=eval_task)
