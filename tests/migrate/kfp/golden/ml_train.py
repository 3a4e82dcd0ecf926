"""A training pipeline with pip packages and a larger image (KFP samples style)."""

from portaflow import Resources, pipeline, step


@step(resources=Resources(memory="4G"))
def train_model(n_estimators: int) -> float:
    from sklearn.datasets import make_regression
    from sklearn.ensemble import RandomForestRegressor

    X, y = make_regression(n_samples=200, random_state=0)
    model = RandomForestRegressor(n_estimators=n_estimators).fit(X, y)
    return float(model.score(X, y))


@step(image="python:3.11")
def gate(score: float, minimum: float) -> bool:
    return score >= minimum


@step(image="python:3.11")
def deploy(score: float) -> str:
    return f"deployed at {score:.3f}"


@pipeline(name="ml-train")
def ml_pipeline(n_estimators: int = 50, minimum: float = 0.5):
    train_task = train_model(n_estimators=n_estimators)
    gate_task = gate(score=train_task, minimum=minimum)
    if gate_task == True:  # noqa: E712
        deploy(score=train_task)
