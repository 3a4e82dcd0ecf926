"""Logging metrics from a component with Output[Metrics] (KFP samples, metrics visualization)."""

from kfp import dsl
from kfp.dsl import Metrics, Output


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def evaluate(threshold: float, metrics: Output[Metrics]) -> float:
    accuracy = 0.9 if threshold < 0.5 else 0.7
    # Each log_metric call adds one scalar to the metrics artifact.
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("threshold", threshold)
    return accuracy


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def decide(accuracy: float) -> str:
    return "deploy" if accuracy > 0.8 else "hold"


@dsl.pipeline(name="metrics")
def metrics_pipeline(threshold: float = 0.3):
    eval_task = evaluate(threshold=threshold)
    decide(accuracy=eval_task.outputs["Output"])
