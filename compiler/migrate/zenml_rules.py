"""The ZenML dialect's rules: one entry per transformation, each "before -> after".

`portaflow.compiler.migrate.zenml.RULES` is this tuple; docs/migrate.md and
docs/migrate/zenml.md list it.
"""

from __future__ import annotations

from portaflow.compiler.migrate.base import Rule

RULES: tuple[Rule, ...] = (
    Rule(
        "imports",
        "`from zenml import pipeline, step, Model` (and `zenml.steps`, `zenml.pipelines`, "
        "`zenml.config`) -> `from portaflow import pipeline, step, Model`, plus the "
        "config types the file now uses (`Retry`, `Resources`, `Schedule`)",
    ),
    Rule(
        "step-cache",
        "`@step(enable_cache=False)` -> `@step(cache=False)`; `name=` stays `name=`",
    ),
    Rule(
        "step-retry",
        "`@step(retry=StepRetryConfig(max_retries=3, delay=10, backoff=2))` -> "
        '`@step(retries=Retry(max=3, delay=10, backoff="exponential", factor=2))` '
        '(a backoff of 0 or 1 is `backoff="fixed"`)',
    ),
    Rule(
        "step-resources",
        '`@step(settings={"resources": ResourceSettings(cpu_count=2, memory="4GB", '
        'gpu_count=1)})` -> `@step(resources=Resources(cpu=2, memory="4G", gpu=1))` '
        "(the dict form too; ZenML's GB/GiB become Kubernetes' G/Gi)",
    ),
    Rule(
        "pipeline-model",
        '`@pipeline(model=Model(name="churn", description=..., tags=[...]))` -> '
        '`@pipeline(model=Model(name="churn", ...))`; a module-level `model = Model(...)` '
        "the decorator names is inlined",
    ),
    Rule(
        "pipeline-schedule",
        '`@pipeline(schedule=Schedule(cron_expression="0 3 * * *"))` -> '
        '`@pipeline(schedule=Schedule(cron="0 3 * * *"))`',
    ),
    Rule(
        "pipeline-cache",
        "`@pipeline(enable_cache=False)` -> `@step(cache=False)` on every step the pipeline "
        'calls that does not set its own; pipeline-wide `settings={"resources": ...}` '
        "are handed down the same way",
    ),
    Rule(
        "with-options",
        "`p.with_options(schedule=..., enable_cache=...)()` -> the options move into "
        "`@pipeline(...)` of `p`",
    ),
    Rule(
        "artifact-config",
        '`-> Annotated[pd.DataFrame, ArtifactConfig(name="dataset")]` -> '
        '`-> Annotated[pd.DataFrame, "dataset"]`',
    ),
    Rule(
        "legacy-output",
        "`-> Output(train=pd.DataFrame, test=pd.DataFrame)` (zenml.steps) -> "
        '`-> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]`',
    ),
    Rule(
        "legacy-slots",
        "`@pipeline def p(importer, trainer): trainer(importer())` run as "
        "`p(importer=load(), trainer=train()).run()` -> `@pipeline def p(): train(load())`",
    ),
    Rule(
        "after-id",
        '`evaluate(model, after="train", id="eval")` -> `evaluate(model, after=[model])`: '
        "ZenML's invocation ids become the names of results (a call waited on is named "
        "`<id>_done` when it had no name)",
    ),
    Rule(
        "external-artifact",
        '`run_agents(ExternalArtifact(value="Berlin"))` -> `run_agents("Berlin")` for a literal '
        "value",
    ),
    Rule(
        "log-metadata",
        '`log_metadata(metadata={"rmse": rmse})` -> `log_metadata(**{"rmse": rmse})`',
    ),
    Rule(
        "run-call",
        '`ml_pipeline()` at module level or under `if __name__ == "__main__":` -> removed, '
        "with a comment `# Run it with: portaflow run FILE --param k=v` in its place",
    ),
    Rule(
        "integration-steps",
        "`from zenml.integrations.mlflow.steps import mlflow_model_deployer_step` -> kept "
        "as it is, with an error: ZenML's integration steps have no portaflow equivalent",
    ),
)
