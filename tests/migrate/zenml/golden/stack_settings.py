"""Stack-specific step settings: an experiment tracker, Docker and resources as dicts."""

from portaflow import pipeline, step, Resources


# the stack's MLflow component
@step(
    resources=Resources(cpu=4, memory="8Gi"),
)
def train(epochs: int = 3) -> float:
    return 0.9 + epochs / 100


@pipeline
def tracked_pipeline(epochs: int = 3):
    train(epochs=epochs)


# Run it with: portaflow run stack_settings.py --param epochs=5
