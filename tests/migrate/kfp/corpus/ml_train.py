"""A training pipeline with pip packages and a larger image (KFP samples style)."""

from kfp import dsl


@dsl.component(packages_to_install=["pandas==2.2.2", "scikit-learn==1.5.0"])
def train_model(n_estimators: int) -> float:
    from sklearn.datasets import make_regression
    from sklearn.ensemble import RandomForestRegressor

    X, y = make_regression(n_samples=200, random_state=0)
    model = RandomForestRegressor(n_estimators=n_estimators).fit(X, y)
    return float(model.score(X, y))


@dsl.component(base_image="python:3.11")
def gate(score: float, minimum: float) -> bool:
    return score >= minimum


@dsl.component(base_image="python:3.11")
def deploy(score: float) -> str:
    return f"deployed at {score:.3f}"


@dsl.pipeline(name="ml-train", description="Train, gate on the score, deploy.")
def ml_pipeline(n_estimators: int = 50, minimum: float = 0.5):
    train_task = train_model(n_estimators=n_estimators).set_memory_limit("4G")
    gate_task = gate(score=train_task.output, minimum=minimum)
    with dsl.If(gate_task.output == True):  # noqa: E712
        deploy(score=train_task.output)
