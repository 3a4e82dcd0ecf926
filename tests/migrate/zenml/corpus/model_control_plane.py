"""The Model Control Plane: a pipeline that produces versions of a named model."""

from typing import Annotated

from zenml import Model, log_metadata, pipeline, step

# The model every run of the pipeline registers a new version of.
model = Model(
    name="iris_classifier",
    license="Apache 2.0",
    description="Classifies iris flowers",
    tags=["classification", "iris"],
)


@step
def prepare(scale: float = 1.0) -> Annotated[list[float], "features"]:
    return [5.1 * scale, 3.5 * scale, 1.4 * scale, 0.2 * scale]


@step
def score(features: list[float]) -> Annotated[float, "accuracy"]:
    accuracy = round(sum(features) / 20.0, 4)
    # Attach the metric to this step's run.
    log_metadata(metadata={"accuracy": accuracy})
    return accuracy


@pipeline(model=model)
def iris_training(scale: float = 1.0):
    features = prepare(scale=scale)
    score(features)


if __name__ == "__main__":
    iris_training()
