"""The local runner's commands: `portaflow run`, `portaflow runs ...`, `portaflow models ...`.

compiler/cli.py loads these click objects lazily by name. The compiler is
imported inside `run` only, so `portaflow runs list` starts fast. Output:
progress on stderr (live table on a terminal, lines otherwise), results on
stdout; user errors are one paragraph on stderr, never a traceback. Exit
status, as the README says: 0 ok; 1 errors in the input (the pipeline file, the
store, an unknown run) or a failed run; 2 usage errors (the command line:
flags, `--param` values, `--store`, `--stack`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from portaflow.storage import is_url

from .housekeeping import INTERRUPTED, shown_status
from .params import ParamError, parse_assignments
from .progress import make_reporter
from .report import print_plan, print_summary, table
from .result import RunError
from .runner import run_pipeline
from .store import STAGES, Store, StoreError, prepare_location, resolve_store

#: Exit status of errors in the input (the pipeline, the store...) and of a failed run.
EXIT_INPUT = 1
#: Exit status of usage errors: the command line itself is wrong.
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Guarded(click.Group):
    """A command group whose store errors end as one line and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            _fail(str(exc))


def _find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding a pyproject.toml, else `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "portaflow.toml").is_file():
            return folder
    return start


def _store_spec(root: Path, store: str | None, stack: str | None) -> tuple[Path, str | None]:
    """(local folder, store URL or None): --store, else env PORTAFLOW_STORE, else the stack's
    `store`, else <root>/.portaflow. A URL (s3://bucket/prefix...) keeps its index under the root.
    """
    if store is not None:
        if not store.strip() or "\0" in store:
            _fail(f"--store {store!r}: give the path of a folder or a store URL", EXIT_USAGE)
        return resolve_store(root, store)
    if os.environ.get("PORTAFLOW_STORE"):
        return resolve_store(root, os.environ["PORTAFLOW_STORE"])
    from portaflow.compiler.clikit import load_stack_or_exit

    configured = load_stack_or_exit(root, stack).get("store")  # a bad stack: usage error (2)
    if configured:
        if is_url(str(configured)):
            return resolve_store(root, str(configured))
        path = Path(str(configured)).expanduser()
        return (path if path.is_absolute() else root / path), None
    return root / ".portaflow", None


def _store_error_code(store: str | None) -> int:
    """An unusable store named by --store or PORTAFLOW_STORE is a usage error; else an input one."""
    return EXIT_USAGE if store is not None or os.environ.get("PORTAFLOW_STORE") else EXIT_INPUT


_store_option = click.option(
    "--store",
    metavar="DIR|URL",
    help="Folder or URL (s3://bucket/prefix, any fsspec URL) of the store (default: env PORTAFLOW_STORE, the stack's `store`, "
    "else <project root>/.portaflow).",
)
_root_option = click.option(
    "--root",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Project root (default: the nearest folder with a pyproject.toml).",
)
_stack_option = click.option(
    "--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME]."
)


# --------------------------------------------------------------------------- run


@click.command(name="run")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a pipeline parameter; VALUE is JSON for numbers, bools, lists and dicts, "
    "plain text for str parameters. Repeatable.",
)
@click.option(
    "--pipeline", metavar="NAME", help="Which @pipeline of FILE to run, when it has several."
)
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), help="Steps run at once (default: CPU count)."
)
@_root_option
@_store_option
@_stack_option
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every step, even where an identical earlier result exists.",
)
@click.option(
    "--resume",
    metavar="RUN_ID",
    help="Continue a failed or interrupted run: finished steps are reused, the rest run. FILE is optional.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show the plan (cache hits, what would run) and execute nothing.",
)
@click.option(
    "--isolation",
    type=click.Choice(["fork", "process"]),
    help="How each step gets its process: a fork of a warm fork server (default on POSIX), "
    "or a fresh `python -m portaflow.task` (also env PORTAFLOW_ISOLATION).",
)
@click.option("--plain", is_flag=True, help="Plain progress lines even on a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output; only the summary.")
def run_cmd(
    file: str | None,
    params: Sequence[str],
    pipeline: str | None,
    workers: int | None,
    root: str | None,
    store: str | None,
    stack: str | None,
    no_cache: bool,
    resume: str | None,
    dry_run: bool,
    isolation: str | None,
    plain: bool,
    quiet: bool,
) -> None:
    """Run a pipeline on this machine, with no server.

    FILE is compiled in-process (never imported); then every step runs in its own
    subprocess through the same task protocol as on Argo, KFP or Airflow, independent
    steps in parallel. Results, logs, artifacts and lineage go to the local store
    (.portaflow/ by default). Exit status 0 when the run succeeds, 1 otherwise.

    \b
    Examples:
      portaflow run pipeline.py --param n_estimators=200
      portaflow run pipeline.py --param 'regions=["eu", "us"]' --workers 4
      portaflow run pipeline.py --dry-run
      portaflow run --resume ml_pipeline-20250101-120000-ab12
    """
    if file is None and resume is None:
        raise click.UsageError("give a pipeline FILE to run, or --resume RUN_ID")
    if resume is not None and params:
        raise click.UsageError("--resume continues a run with its own parameters; drop --param")
    start = Path(file).parent if file else Path.cwd()
    project = Path(root).resolve() if root else _find_root(start)
    location, uri = _store_spec(project, store, stack)
    problem = prepare_location(location)
    if problem is not None:
        _fail(problem, _store_error_code(store))
    ir_pipeline = _load(file, project, pipeline) if file else None
    if ir_pipeline is not None:
        _warn_packages(ir_pipeline)
    try:
        values = (
            parse_assignments(ir_pipeline, params) if ir_pipeline is not None and params else {}
        )
    except ParamError as exc:
        _fail(str(exc), EXIT_USAGE)
    if resume is not None and ir_pipeline is None:
        root_of_run = _run_root(location, resume)
        if root_of_run is not None and root is None:
            project = root_of_run
    mlflow_uri = _mlflow_uri(project, stack)
    reporter = make_reporter(interactive=False if plain else None, quiet=quiet or dry_run)
    signal.signal(
        signal.SIGTERM, _interrupt
    )  # stop like Ctrl-C: steps killed, run marked cancelled
    t0 = time.time()
    try:
        result = run_pipeline(
            ir_pipeline,
            root=project,
            store=uri or location,
            params=values,
            workers=workers,
            cache=not no_cache,
            resume=resume,
            dry_run=dry_run,
            reporter=reporter,
            isolation=isolation,
            mlflow_tracking_uri=mlflow_uri,
            env_file=_env_file(project, stack),
        )
    except (RunError, StoreError) as exc:
        _fail(str(exc))
    if dry_run:
        print_plan(result)
        return
    print_summary(result, time.time() - t0, file)
    if not result.ok:
        sys.exit(1)


def _mlflow_uri(root: Path, stack: str | None) -> str | None:
    """The stack's `mlflow_tracking_uri` (env MLFLOW_TRACKING_URI wins; docs/mlflow.md)."""
    from portaflow.compiler.clikit import load_stack_or_exit

    value = load_stack_or_exit(root, stack).get("mlflow_tracking_uri")
    return str(value) if value else None


def _env_file(root: Path, stack: str | None) -> str | None:
    """The stack's `env_file` (SecretEnv values for local runs), if it names one."""
    from portaflow.compiler.clikit import load_stack_or_exit

    value = load_stack_or_exit(root, stack).get("env_file")
    return str(value) if value else None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _warn_packages(p: Any) -> None:
    """PF920 for each step with `packages=`: the bootstrap of a cluster pod installs them,
    `portaflow run` runs in this environment as it is (docs/deploy.md)."""
    for s in p.steps:
        if s.config.packages:
            click.echo(
                f"{s.span}: warning PF920: step {s.name!r}: packages="
                f"{list(s.config.packages)} are not installed by `portaflow run`; this "
                "environment must hold them",
                err=True,
            )
            click.echo(
                "      = hint: pip install them here; for clusters, an image holding them is "
                "the reproducible choice (portaflow image)",
                err=True,
            )


def _load(file: str, root: Path, pipeline: str | None) -> Any:
    path = Path(file)
    if not path.is_file():
        _fail(f"{file} is not a regular file" if path.exists() else f"no such file: {file}")
    if path.suffix == ".json":  # an IR file, e.g. from `portaflow compile --target ir`
        from portaflow.compiler import irjson

        try:
            return irjson.loads(path.read_text("utf-8"))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            _fail(f"{file} is not a portaflow IR file: {exc}")
    from portaflow.compiler.clikit import compile_or_exit

    return compile_or_exit(path, root=root, pipeline=pipeline)


def _run_root(location: Path, run_id: str) -> Path | None:
    """The project root a run was started in (resuming without FILE runs the steps from there)."""
    if not (location / "portaflow.db").is_file():
        return None
    try:
        with Store(location) as st:
            return Path(st.get_run(run_id)["root"])
    except StoreError:
        return None  # said again, with what to do, when the run starts


# --------------------------------------------------------------------------- runs


@click.group(name="runs", cls=_Guarded)
def runs_group() -> None:
    """List and inspect local runs (from the local store)."""


def _open(root: str | None, store: str | None, stack: str | None) -> Store:
    project = Path(root).resolve() if root else _find_root(Path.cwd())
    location, uri = _store_spec(project, store, stack)
    if location.exists() and not location.is_dir():
        _fail(f"the store {location} is not a folder", _store_error_code(store))
    # The database is only an index: without it, the store's records rebuild it.
    if (
        uri is None
        and not (location / "portaflow.db").is_file()
        and not (location / "records").is_dir()
    ):
        _fail(
            f"no local store at {location}: nothing has run here yet (`portaflow run FILE` creates it)"
        )
    try:
        st = Store(location, uri=uri)
    except StoreError as exc:
        _fail(str(exc))
    try:
        st.refresh()  # what anyone sharing the store wrote since the last command
    except StoreError as exc:
        st.close()
        _fail(str(exc))
    return st


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _duration(start: float | None, end: float | None) -> str:
    return f"{end - start:.1f}s" if start is not None and end is not None else "-"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)  # pragma: no cover


@runs_group.command(name="list")
@click.option("--pipeline", metavar="NAME", help="Only runs of this pipeline.")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_root_option
@_store_option
@_stack_option
def runs_list(
    pipeline: str | None,
    limit: int,
    as_json: bool,
    root: str | None,
    store: str | None,
    stack: str | None,
) -> None:
    """List recent runs, newest first."""
    with _open(root, store, stack) as st:
        runs = st.list_runs(pipeline=pipeline, limit=limit)
        for r in runs:
            r["status"] = shown_status(st, r)
            r["options"] = _json_or_text(r.get("options") or "{}")
        if as_json:
            click.echo(
                json.dumps([{k: v for k, v in r.items() if k != "ir"} for r in runs], indent=2)
            )
            return
        if not runs:
            click.echo("no runs yet")
            return
        rows = []
        for r in runs:
            states: dict[str, int] = {}
            for e in st.executions(r["id"]):
                states[e["state"]] = states.get(e["state"], 0) + 1
            tasks = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
            rows.append(
                [
                    r["id"],
                    r["pipeline"],
                    r["status"],
                    _when(r["created"]),
                    _duration(r["created"], r["finished"]),
                    tasks,
                ]
            )
        table(["run", "pipeline", "status", "started", "took", "tasks"], rows)


@runs_group.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_root_option
@_store_option
@_stack_option
def runs_show(
    run_id: str, as_json: bool, root: str | None, store: str | None, stack: str | None
) -> None:
    """Show one run: its tasks (state, attempts, time, cache hits, logs), artifacts and metrics.

    RUN_ID may be a unique prefix of the id.
    """
    with _open(root, store, stack) as st:
        try:
            run = st.get_run(run_id)
        except StoreError as exc:
            _fail(str(exc))
        run["status"] = shown_status(st, run)
        if run["status"] == INTERRUPTED and not run["message"]:
            run["message"] = (
                "its runner was killed before the run ended; "
                f"continue it with: portaflow run --resume {run['id']}"
            )
        execs = st.executions(run["id"])
        artifacts = st.artifacts(run["id"])
        metrics = st.metrics(run["id"])
        outputs = _run_outputs(run, execs)
        if as_json:
            doc = {k: v for k, v in run.items() if k != "ir"}
            doc.update(
                outputs=outputs,
                params=_json_or_text(run["params"]),
                options=_json_or_text(run.get("options") or "{}"),
                executions=execs,
                artifacts=artifacts,
                metrics=metrics,
                lineage=st.lineage(run["id"]),
            )
            click.echo(json.dumps(doc, indent=2, default=str))
            return
        click.echo(f"run       {run['id']}")
        click.echo(f"pipeline  {run['pipeline']} ({run['source']})")
        click.echo(
            f"status    {run['status']}" + (f" - {run['message']}" if run["message"] else "")
        )
        click.echo(
            f"started   {_when(run['created'])}, took {_duration(run['created'], run['finished'])}"
        )
        click.echo(f"params    {run['params']}")
        if outputs:
            shown = {
                k: v["value"] if isinstance(v, dict) and v.get("kind") == "parameter" else v
                for k, v in outputs.items()
            }
            click.echo(f"outputs   {json.dumps(shown, sort_keys=True, default=str)}")
        click.echo("")
        rows = []
        for e in execs:
            cache = f"hit ({e['cached_from']})" if e["cache_hit"] else ""
            note = cache or (e["message"] or "")
            if e["damaged"]:
                note = f"damaged record ({', '.join(e['damaged'])} unreadable); {note}".rstrip("; ")
            rows.append(
                [
                    e["key"],
                    e["state"],
                    str(e["attempt"] or ""),
                    _duration(e["started"], e["finished"]),
                    e["log_path"] or "",
                    note,
                ]
            )
        table(["task", "state", "try", "took", "log", "note"], rows)
        if artifacts:
            click.echo("")
            table(
                ["artifact", "type", "size", "uri"],
                [
                    [f"{a['execution']}.{a['name']}", a["type"] or "", _size(a["size"]), a["uri"]]
                    for a in artifacts
                ],
            )
        if metrics:
            click.echo("")
            table(
                ["metric", "value"],
                [[f"{m['execution']}.{m['name']}", json.dumps(m["value"])] for m in metrics],
            )


# --------------------------------------------------------------------------- models


def _run_outputs(run: dict[str, Any], execs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's pipeline outputs (its `return`), from the executions that produced them."""
    from portaflow.compiler import irjson

    from .outputs import pipeline_outputs

    try:
        pipeline = irjson.loads(run["ir"])
    except Exception:  # a damaged record: show the run without its outputs
        return {}
    by_key = {e["key"]: e["outputs"] for e in execs if isinstance(e.get("outputs"), dict)}
    return pipeline_outputs(pipeline, by_key)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


@click.group(name="models", cls=_Guarded)
def models_group() -> None:
    """List, show and promote model versions (a pipeline with `model=Model(name=...)`
    registers a new version on every successful run)."""


@models_group.command(name="list")
@_root_option
@_store_option
@_stack_option
def models_list(root: str | None, store: str | None, stack: str | None) -> None:
    """List registered models with their latest and production versions."""
    with _open(root, store, stack) as st:
        models = st.list_models()
        if not models:
            click.echo("no models yet: add model=Model(name=...) to a @pipeline and run it")
            return
        table(
            ["model", "versions", "latest", "production"],
            [
                [
                    m["name"],
                    str(m["versions"]),
                    str(m["latest"] or "-"),
                    str(m["production"] or "-"),
                ]
                for m in models
            ],
        )


@models_group.command(name="show")
@click.argument("name")
@_root_option
@_store_option
@_stack_option
def models_show(name: str, root: str | None, store: str | None, stack: str | None) -> None:
    """Show every version of model NAME: stage, run, metrics and artifacts."""
    with _open(root, store, stack) as st:
        try:
            versions = st.model_versions(name)
        except StoreError as exc:
            _fail(str(exc))
        click.echo(f"model {name}: {len(versions)} version(s)")
        for v in versions:
            click.echo("")
            click.echo(
                f"version {v['version']}  stage: {v['stage'] or '-'}  run: {v['run_id']}"
                f"  created: {_when(v['created'])}"
            )
            for m in v["metrics"]:
                click.echo(f"  metric    {m['execution']}.{m['name']} = {json.dumps(m['value'])}")
            for a in v["artifacts"]:
                click.echo(
                    f"  artifact  {a['name']}  {a['type'] or ''}  {_size(a['size'])}  {a['uri']}"
                )


@models_group.command(name="promote")
@click.argument("name")
@click.argument("version", type=int)
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="production",
    show_default=True,
    help="Stage to move the version to; promoting to production archives the previous one.",
)
@_root_option
@_store_option
@_stack_option
def models_promote(
    name: str, version: int, stage: str, root: str | None, store: str | None, stack: str | None
) -> None:
    """Move version VERSION of model NAME to a stage (default production)."""
    with _open(root, store, stack) as st:
        try:
            st.model_versions(name)
            st.promote(name, version, stage)
        except StoreError as exc:
            _fail(str(exc))
    click.echo(f"model {name} version {version} is now {stage}")
