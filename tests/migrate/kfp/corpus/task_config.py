"""Task-level configuration: retries, resources, accelerators and env (KFP docs, "Tasks")."""

from kfp import dsl


@dsl.component(base_image="pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime")
def train(epochs: int, lr: float) -> float:
    import os

    print("threads", os.environ.get("OMP_NUM_THREADS"))
    return epochs * lr


@dsl.component(base_image="python:3.11")
def report(score: float) -> str:
    return f"score={score}"


@dsl.pipeline(name="task-config")
def training_pipeline(epochs: int = 3, lr: float = 0.01):
    train_task = (
        train(epochs=epochs, lr=lr)
        .set_cpu_limit("4")
        .set_memory_limit("16G")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(1)
    )
    # Transient failures are retried with exponential backoff.
    train_task.set_retry(num_retries=3, backoff_duration="60s", backoff_factor=2.0)
    train_task.set_env_variable(name="OMP_NUM_THREADS", value="4")
    report(score=train_task.output)
