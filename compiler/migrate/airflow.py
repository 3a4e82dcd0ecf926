"""`portaflow migrate --from airflow`: Airflow TaskFlow DAG files (`@dag`, `@task`) -> portaflow.

Each rule below is one transformation; what no rule covers stays as written and
gets a located PF86x diagnostic. The DAG body is rewritten by `airflow_body`,
decorators and options by `airflow_decorators`. TaskFlow reference:
https://airflow.apache.org/docs/apache-airflow/stable/tutorial/taskflow.html
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from portaflow.compiler.diagnostics import Diagnostic, Severity
from portaflow.compiler.migrate.base import MigrateResult, Rule, at_range

RULES: tuple[Rule, ...] = (
    Rule(
        "imports",
        "`from airflow.sdk import dag, task` (or airflow.decorators) -> "
        "`from portaflow import pipeline, step` (+ Retry, Schedule as used); Airflow names "
        "still used stay imported",
    ),
    Rule(
        "dag-decorator",
        '`@dag(dag_id="etl", schedule="@daily", catchup=True)` -> '
        '`@pipeline(name="etl", schedule=Schedule(cron="0 0 * * *", catchup=True))`; '
        "start_date, tags, description and doc_md are dropped (a warning for start_date)",
    ),
    Rule(
        "dag-params",
        '`@dag(params={"n": Param(5, type="integer")})` and `def etl(region="eu")` -> '
        '`def etl(region: str = "eu", n: int = 5)`; `"{{ params.n }}"` arguments -> `n`',
    ),
    Rule(
        "task-decorator",
        "`@task` / `@task()` / `@task.python` -> `@step`; nested task functions move above "
        "the pipeline; `@task.docker(image=...)` / `@task.kubernetes(image=...)` -> "
        '`@step(image=...)`; `task_id="x"` -> `name="x"`',
    ),
    Rule(
        "task-options",
        "`@task(retries=3, retry_delay=timedelta(minutes=5), retry_exponential_backoff=True, "
        "execution_timeout=timedelta(hours=1))` -> `@step(retries=Retry(max=3, delay="
        '"5m", backoff="exponential"), timeout="1h")`; `default_args` of the DAG apply to '
        "every task that does not set them",
    ),
    Rule(
        "return-types",
        "a task without a return annotation gets the one its `return`s agree on "
        "(`return {...}` -> `-> dict`, no value -> `-> None`), or the type of the parameter "
        "its result is passed to",
    ),
    Rule(
        "multiple-outputs",
        '`@task(multiple_outputs=True)` returning `{"a": x, "b": y}` and used as `r["a"]` -> '
        '`-> tuple[Annotated[T, "a"], Annotated[T, "b"]]`, `return x, y`, and '
        "`r_a, r_b = t()` in the pipeline",
    ),
    Rule(
        "expand",
        "`t.expand(x=xs)` -> `[t(x=x) for x in xs]`; `t.partial(y=1).expand(x=xs, z=zs)` -> "
        "`[t(y=1, x=x, z=z) for x in xs for z in zs]` (Airflow's cross product)",
    ),
    Rule(
        "dependencies",
        "`a >> b`, `a >> [b, c]`, `[a, b] >> c`, `b << a` and `chain(a, b, c)` between task "
        "calls -> `after=[a]` on the downstream call; a call written inline in the chain "
        "gets a name (`extract() >> load()` -> `extract_task = extract()` / "
        "`load(after=[extract_task])`)",
    ),
    Rule(
        "branch",
        '`@task.branch` returning task ids, `choice >> [big(), small()]` -> `if choice == "big":` '
        '/ `if choice == "small":` around each call (`if "big" in choice:` when it returns '
        "a list); tasks downstream of a branched task share its `if` unless their trigger_rule "
        "is a join (none_failed, none_failed_min_one_success)",
    ),
    Rule(
        "dag-call",
        '`etl()` / `dag = etl()` at module level and `if __name__ == "__main__": dag.test()` '
        "-> removed (portaflow finds the @pipeline itself; `portaflow run` runs it); "
        "their comments stay",
    ),
)


class Migrator:
    """Diagnostics collected while rewriting one file."""

    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.path = path
        self.lines = source.splitlines()
        self.diagnostics: list[Diagnostic] = []
        self.positions: dict[cst.CSTNode, CodeRange] = {}

    def report(
        self,
        node: cst.CSTNode | None,
        code: str,
        message: str,
        hint: str,
        severity: Severity = "error",
    ) -> None:
        where = self.positions.get(node) if node is not None else None
        self.diagnostics.append(
            at_range(code, severity, message, hint, path=self.path, lines=self.lines, where=where)
        )


def migrate(source: str, path: str) -> MigrateResult:
    """Rewrite one Airflow TaskFlow file; never raises on user input."""
    m = Migrator(source, path)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        m.diagnostics.append(
            Diagnostic(
                code="PF860",
                severity="error",
                message=f"not valid Python: {exc.message}",
                path=path,
                line=exc.raw_line,
                col=exc.raw_column + 1,
                hint="fix the syntax error first; nothing was migrated",
                source_line=m.lines[exc.raw_line - 1] if 0 < exc.raw_line <= len(m.lines) else "",
            )
        )
        return MigrateResult(code=source, diagnostics=m.diagnostics)
    except RecursionError:
        m.report(None, "PF860", "expression nested too deeply to migrate", "simplify the file")
        return MigrateResult(code=source, diagnostics=m.diagnostics)
    from portaflow.compiler.migrate.airflow_module import rewrite_module

    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        m.positions = dict(wrapper.resolve(PositionProvider))
        code = rewrite_module(module, m)
    except RecursionError:
        m.diagnostics = []
        m.report(None, "PF860", "expression nested too deeply to migrate", "simplify the file")
        return MigrateResult(code=source, diagnostics=m.diagnostics)
    except Exception as exc:  # a bug of ours must still reach the user as a diagnostic
        m.diagnostics = []
        m.report(
            None,
            "PF001",
            f"internal error of the Airflow migration: {type(exc).__name__}: {exc}",
            "please report this with the DAG file; nothing was migrated",
        )
        return MigrateResult(code=source, diagnostics=m.diagnostics)
    ordered = sorted(m.diagnostics, key=lambda d: (d.line, d.col, d.code))
    return MigrateResult(code=code, diagnostics=ordered)
