"""Stack-specific step settings: an experiment tracker, Docker and resources as dicts."""

from zenml import pipeline, step
from zenml.config import DockerSettings

docker_settings = DockerSettings(requirements=["scikit-learn"])


@step(
    experiment_tracker="mlflow_tracker",  # the stack's MLflow component
    settings={
        "docker": docker_settings,
        "resources": {"cpu_count": 4, "memory": "8GiB"},
    },
    enable_artifact_visualization=False,
)
def train(epochs: int = 3) -> float:
    return 0.9 + epochs / 100


@pipeline(settings={"resources": {"cpu_count": 1, "memory": "512MiB"}})
def tracked_pipeline(epochs: int = 3):
    train(epochs=epochs)


if __name__ == "__main__":
    tracked_pipeline(epochs=5)
