"""Task-level configuration: retries, resources, accelerators and env (KFP docs, "Tasks")."""

from portaflow import Resources, Retry, pipeline, step


@step(
    image="pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
    retries=Retry(max=3, delay="60s", factor=2.0),
    resources=Resources(cpu="4", memory="16G", gpu=1, gpu_vendor="nvidia.com/gpu"),
    env={"OMP_NUM_THREADS": "4"},
)
def train(epochs: int, lr: float) -> float:
    import os

    print("threads", os.environ.get("OMP_NUM_THREADS"))
    return epochs * lr


@step(image="python:3.11")
def report(score: float) -> str:
    return f"score={score}"


@pipeline(name="task-config")
def training_pipeline(epochs: int = 3, lr: float = 0.01):
    train_task = train(epochs=epochs, lr=lr)
    # Transient failures are retried with exponential backoff.
    report(score=train_task)
