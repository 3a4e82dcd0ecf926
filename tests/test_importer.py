"""`importer(uri, type=T)` and `model_version(name, ...)`: existing artifacts as pipeline values."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from portaflow import importer, model_version
from portaflow.backends import BackendError, EmitOptions, load
from portaflow.backends.local import run_pipeline
from portaflow.backends.local.store import Store
from portaflow.compiler import CompileError, compile_file, ir

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "importer"
STORE = {"store": "s3://ml-store/importer-example"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example, so runs may change its data files."""
    dest = tmp_path / "importer"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".portaflow", "__pycache__"))
    return dest


def _run(project: Path, file: str = "pipeline.py", **params: Any) -> Any:
    p = compile_file(project / file, root=project)
    return run_pipeline(p, root=project, store=project / ".portaflow", params=params, workers=2)


def _by_task(result: Any) -> dict[str, Any]:
    return {e.task: e for e in result.executions}


# --------------------------------------------------------------------------- compiler


def test_the_example_compiles_to_runtime_steps_that_are_never_cached() -> None:
    p = compile_file(EXAMPLE / "pipeline.py", root=EXAMPLE)
    imp = p.step(ir.IMPORTER_STEP)
    assert imp.config.cache is False and [o.name for o in imp.outputs] == ["artifact"]
    tasks = {t.id: t for t in p.tasks}
    uri = {b.name: b.binding for b in tasks["importer"].inputs}
    assert uri["uri"] == ir.ParamRef(param="notes_uri")
    assert uri["type"] == ir.Literal(value="pathlib.Path")
    assert uri["metadata"] == ir.Literal(value={"owner": "docs", "license": "CC0"})
    assert {b.name: b.binding for b in tasks["importer_2"].inputs}["uri"] == ir.Literal(
        value="data/stopwords.txt"
    )
    score = compile_file(EXAMPLE / "score.py", root=EXAMPLE)
    mv = score.step(ir.MODEL_VERSION_STEP)
    assert mv.config.cache is False and [o.name for o in mv.outputs] == ["model"]
    (task,) = [t for t in score.tasks if t.step == ir.MODEL_VERSION_STEP]
    assert {b.name: b.binding for b in task.inputs} == {
        "name": ir.Literal(value="vocabulary"),
        "stage": ir.Literal(value="production"),
        "artifact": ir.Literal(value="fit.model"),
    }


BAD = {
    "PF270": [
        'importer("a.txt", type=Path, mode="r")',
        'importer("a.txt")',
        'importer("a.txt", Path, {}, 4)',
        "model_version()",
    ],
    "PF271": [
        "importer(make(), type=Path)",
        "importer(n, type=Path)",
        'importer("", type=Path)',
        "model_version(make())",
    ],
    "PF272": [
        'importer("a.txt", type=int)',
        'importer("a.txt", type=Nope)',
        'importer("a.txt", type="Path")',
    ],
    "PF273": [
        'importer("a.txt", type=Path, metadata=[1])',
        'importer("a.txt", type=Path, metadata=meta)',
    ],
    "PF274": [
        'model_version("m", stage="production", version=2)',
        'model_version("m", stage="prod")',
        'model_version("m", version=0)',
        'model_version("m", version=True)',
        'model_version("m", artifact=3)',
    ],
}


def _source(expr: str, use: str = "take(x)") -> str:
    return textwrap.dedent(
        f"""
        from pathlib import Path
        from portaflow import importer, model_version, pipeline, step

        @step
        def make() -> str:
            return "a.txt"

        @step
        def take(x: Path) -> int:
            return 1

        @step
        def count(n: int) -> int:
            return n

        @pipeline
        def p(n: int = 1, meta: str = "x"):
            x = {expr}
            {use.replace(chr(10), chr(10) + " " * 12)}
        """
    )


@pytest.mark.parametrize(
    ("code", "expr"), [(code, expr) for code, exprs in BAD.items() for expr in exprs]
)
def test_a_bad_call_is_a_located_diagnostic(code: str, expr: str, tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text(_source(expr))
    with pytest.raises(CompileError) as info:
        compile_file(tmp_path / "p.py", root=tmp_path)
    found = [d for d in info.value.diagnostics if d.severity == "error"]
    assert [d.code for d in found][:1] == [code], [str(d) for d in found]
    assert found[0].line == 19 and found[0].col > 0 and found[0].hint


@pytest.mark.parametrize(
    ("use", "code"),
    [
        ("count(x)", "PF220"),  # an artifact where a parameter is declared
        ("if x:\n    take(x)", "PF222"),  # a condition on an artifact
        ("for y in x:\n    take(y)", "PF230"),  # a loop over an artifact
    ],
)
def test_an_import_where_no_artifact_is_allowed(use: str, code: str, tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text(_source('importer("a.txt", type=Path)', use))
    with pytest.raises(CompileError) as info:
        compile_file(tmp_path / "p.py", root=tmp_path)
    assert code in [d.code for d in info.value.diagnostics]


def test_a_str_parameter_and_a_module_constant_are_uris(tmp_path: Path) -> None:
    src = _source("importer(meta, type=Path)") + 'DATA = "s3://b/k"\n'
    (tmp_path / "p.py").write_text(
        src.replace("x = importer(meta", "y = importer(DATA, type=bytes)\n    x = importer(meta")
    )
    p = compile_file(tmp_path / "p.py", root=tmp_path)
    uris = [
        {b.name: b.binding for b in t.inputs}["uri"] for t in p.tasks if t.step == ir.IMPORTER_STEP
    ]
    assert uris == [ir.ParamRef(param="meta"), ir.Literal(value="s3://b/k")] or uris == [
        ir.Literal(value="s3://b/k"),
        ir.ParamRef(param="meta"),
    ]


# --------------------------------------------------------------------------- local runner


def test_the_example_runs_and_its_imports_are_recorded_with_uri_and_sha256(project: Path) -> None:
    result = _run(project)
    assert result.ok, result.failed
    tasks = _by_task(result)
    assert tasks["count_words"].outputs["output"]["param"] == 16
    assert result.outputs["score"]["param"] == 0.625
    store = Store(project / ".portaflow")
    try:
        execs = {e["key"]: e for e in store.executions(result.run_id)}
    finally:
        store.close()
    src = execs["importer"]["outputs"]["artifact"]["source"]
    assert src == {"uri": "data/notes.txt", "metadata": {"owner": "docs", "license": "CC0"}}
    from portaflow.compiler.cli import main

    shown = CliRunner().invoke(main, ["runs", "show", result.run_id, "--root", str(project)])
    assert shown.exit_code == 0, shown.output
    sha = execs["importer"]["outputs"]["artifact"]["sha256"]
    lines = shown.output.splitlines()
    (line,) = [ln for ln in lines if ln.startswith("importer.artifact ") and "data/notes" in ln]
    assert sha in line


def test_a_changed_file_at_the_same_uri_is_never_a_stale_cache_hit(project: Path) -> None:
    first = _by_task(_run(project))
    again = _by_task(_run(project))
    # Unchanged bytes: the importers fetch again, every consumer is a cache hit.
    assert again["importer"].state == "succeeded" and not again["importer"].cache_hit
    assert all(again[t].cache_hit for t in ("count_words", "fit", "coverage"))
    (project / "data" / "notes.txt").write_text("one two three\n", encoding="utf-8")
    changed = _by_task(_run(project))
    assert (
        changed["importer"].outputs["artifact"]["sha256"]
        != first["importer"].outputs["artifact"]["sha256"]
    )
    for t in ("count_words", "fit", "coverage"):
        assert not changed[t].cache_hit, t  # the same uri, new bytes: every reader runs again
    assert changed["count_words"].outputs["output"]["param"] == 3


def test_model_version_resolves_the_production_version_at_run_time(project: Path) -> None:
    failed = _run(project, "score.py")
    assert not failed.ok
    (bad,) = failed.failed
    assert "no model 'vocabulary'" in bad.message and "Traceback" not in bad.message
    assert "Traceback" not in Path(bad.log_path or "").read_text()
    assert _run(project).model_version == ("vocabulary", 1)
    no_stage = _run(project, "score.py")
    assert not no_stage.ok
    assert "has no version in stage 'production'" in no_stage.failed[0].message
    assert "portaflow models promote vocabulary" in no_stage.failed[0].message
    store = Store(project / ".portaflow")
    try:
        store.promote("vocabulary", 1, "production")
    finally:
        store.close()
    scored = _run(project, "score.py")
    assert scored.ok, scored.failed
    assert scored.outputs["score"]["param"] == 0.625
    store = Store(project / ".portaflow")
    try:
        (execution,) = [e for e in store.executions(scored.run_id) if e["key"] == "model_version"]
    finally:
        store.close()
    model = execution["outputs"]["model"]
    assert model["source"]["metadata"]["version"] == 1
    assert model["source"]["metadata"]["stage"] == "production"


def test_model_version_by_number_and_a_missing_one(project: Path) -> None:
    assert _run(project).ok
    src = (project / "score.py").read_text()
    (project / "v.py").write_text(src.replace('stage="production"', "version=1"))
    assert _run(project, "v.py").ok
    (project / "v9.py").write_text(src.replace('stage="production"', "version=9"))
    missing = _run(project, "v9.py")
    assert not missing.ok and "has no version 9" in missing.failed[0].message


# --------------------------------------------------------------------------- runtime


def test_outside_a_pipeline_importer_loads_the_value(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2]})
    frame.to_parquet(tmp_path / "f.parquet")
    assert importer(str(tmp_path / "f.parquet"), type=pd.DataFrame).equals(frame)
    assert (
        importer(f"file://{tmp_path / 'f.parquet'}", type=bytes)
        == (tmp_path / "f.parquet").read_bytes()
    )
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.txt").write_text("x")
    folder = importer(str(tmp_path / "folder"), type=Path)
    assert (folder / "x.txt").read_text() == "x"
    from portaflow.imports import ImportFailed

    with pytest.raises(ImportFailed, match="no such file"):
        importer(str(tmp_path / "nope"), type=bytes)
    with pytest.raises(ImportFailed, match="is a folder"):
        importer(str(tmp_path / "folder"), type=bytes)


def test_an_artifact_folder_is_imported_as_is_and_checked(tmp_path: Path) -> None:
    from portaflow.imports import ImportFailed
    from portaflow.materializers import save_artifact

    save_artifact(b"payload", tmp_path / "art")
    assert importer(str(tmp_path / "art"), type=bytes) == b"payload"
    (tmp_path / "art" / "data.bin").write_bytes(b"changed")
    with pytest.raises((ImportFailed, ValueError, OSError)):
        importer(str(tmp_path / "art"), type=bytes)


def test_model_version_outside_a_pipeline_needs_a_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from portaflow.imports import ImportFailed

    monkeypatch.delenv("PORTAFLOW_STORE_URI", raising=False)
    monkeypatch.delenv("PORTAFLOW_REGISTRY_URI", raising=False)
    with pytest.raises(ImportFailed, match="no store is set"):
        model_version("m", stage="production")


# --------------------------------------------------------------------------- backends


def _emit(target: str, file: str, extra: dict[str, Any] | None = None) -> Any:
    p = compile_file(EXAMPLE / file, root=EXAMPLE)
    return load(target)(p, options=EmitOptions(extra=extra or {}))


@pytest.mark.parametrize(
    ("target", "code", "extra"),
    [
        ("argo", "PF533", {}),
        ("kfp", "PF634", {}),
        ("airflow", "PF733", {}),
    ],
)
def test_model_version_needs_a_store_on_a_cluster(
    target: str, code: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(BackendError) as info:
        _emit(target, "score.py", extra)
    msgs = [m for m in info.value.messages if m.code == code]
    target_name = {"argo": "Argo", "kfp": "KFP", "airflow": "Airflow"}[target]
    assert msgs and "model_version" in msgs[0].message and target_name in msgs[0].message
    assert "importer(" in msgs[0].hint or "local flavour" in msgs[0].hint
    assert msgs[0].span is not None and msgs[0].span.path == "score.py"
    assert _emit(target, "score.py", STORE).files  # with a store URL it compiles


def test_airflow_local_flavour_leaves_the_store_to_the_worker() -> None:
    assert _emit("airflow", "score.py", {"airflow_operator": "local"}).files


def test_argo_runs_the_import_in_the_pod_and_passes_every_check() -> None:
    from argo.checks import check_result

    for file, extra in (("pipeline.py", {}), ("score.py", STORE)):
        result = _emit("argo", file, extra)
        docs = check_result(result)
        templates = {t["name"]: t for t in docs[0]["spec"]["templates"]}
        ref = ir.IMPORTER_STEP
        cmd = templates["importer"]["container"]["command"]
        assert cmd[:5] == ["python", "-m", "portaflow.task", "--step", ref]
        assert "memoize" not in templates["importer"]  # fetched again on every run
    text = _emit("argo", "score.py", STORE).files[0].text
    assert "PORTAFLOW_STORE_URI" in text and "portaflow.imports:model_version" in text


def _kfp_compile(uri: str | None, **kwargs: Any) -> dict[str, Any]:
    """kfp's own compile of a pipeline holding one dsl.importer (of the parameter when uri=None)."""
    import tempfile

    from kfp import compiler
    from kfp_backend.kfp_equivalents import importer_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "p.yaml")
        compiler.Compiler().compile(importer_pipeline(uri, **kwargs), str(out))
        return dict(yaml.safe_load(out.read_text()))


@pytest.mark.parametrize(
    ("ours_name", "uri", "kwargs"),
    [
        ("importer", None, {"metadata": {"owner": "docs", "license": "CC0"}}),
        ("importer-2", "data/stopwords.txt", {}),
    ],
)
def test_kfp_importer_is_what_kfp_compiles_for_dsl_importer(
    ours_name: str, uri: str | None, kwargs: dict[str, Any]
) -> None:
    pytest.importorskip("kfp")
    ours = yaml.safe_load(_emit("kfp", "pipeline.py").files[0].text)
    want = _kfp_compile(uri, reimport=True, **kwargs)
    comp = dict(ours["components"][f"comp-{ours_name}"], executorLabel="exec-importer")
    assert comp == want["components"]["comp-importer"]
    assert (
        ours["deploymentSpec"]["executors"][f"exec-{ours_name}"]
        == want["deploymentSpec"]["executors"]["exec-importer"]
    )
    our_task = ours["root"]["dag"]["tasks"][ours_name]
    kfp_task = want["root"]["dag"]["tasks"]["importer"]
    assert our_task["inputs"] == kfp_task["inputs"]
    assert our_task["componentRef"] == {"name": f"comp-{ours_name}"}
    # kfp caches an importer by default; ours never is: a changed file is imported again.
    assert our_task["cachingOptions"] == {}


def test_kfp_output_loads_in_the_kfp_sdk() -> None:
    pytest.importorskip("kfp")
    from kfp.components import load_component_from_text

    for file, extra in (("pipeline.py", {}), ("score.py", STORE)):
        text = _emit("kfp", file, extra).files[0].text
        assert load_component_from_text(text) is not None
        spec = next(yaml.safe_load_all(text))  # with a store, a platform spec document follows
        assert '"imports": {"notes": "pathlib.Path"' in spec["deploymentSpec"]["executors"][
            "exec-coverage"
        ]["container"]["command"][-1].replace('\\"', '"')


@pytest.mark.parametrize(
    ("target", "golden_file"),
    [
        ("ir", "tests/golden_ir/example-importer-score.json"),
        ("argo", "tests/argo/golden/example-importer-score.yaml"),
        ("kfp", "tests/kfp_backend/golden/example-importer-score.yaml"),
        ("airflow", "tests/airflow/golden/example-importer-score.py"),
    ],
)
def test_score_golden_with_the_cluster_stack(target: str, golden_file: str, golden: Any) -> None:
    """score.py (model_version) compiled with the example's `cluster` stack: a store URL."""
    from portaflow.compiler import irjson

    p = compile_file(EXAMPLE / "score.py", root=EXAMPLE)
    if target == "ir":
        text = irjson.dumps(p)
    else:
        result = load(target)(p, options=EmitOptions(extra=STORE))
        assert (
            load(target)(
                compile_file(EXAMPLE / "score.py", root=EXAMPLE), options=EmitOptions(extra=STORE)
            )
            == result
        )
        if target == "argo":
            from argo.checks import check_result

            check_result(result)
        text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
    golden.check(REPO / golden_file, text)


def test_an_https_uri_is_downloaded(tmp_path: Path) -> None:
    """A URL with no fsspec package behind it: `http(s)://` is read with the standard library."""
    import functools
    import http.server
    import threading

    (tmp_path / "notes.txt").write_text("served words\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/notes.txt"
        assert importer(url, type=bytes) == b"served words\n"
        path = importer(url, type=Path)
        assert path.name == "notes.txt" and path.read_text() == "served words\n"
        from portaflow.imports import ImportFailed

        with pytest.raises(ImportFailed, match="cannot download"):
            importer(url + ".missing", type=bytes)
    finally:
        server.shutdown()


def test_model_version_picks_the_model_output_or_the_named_one(tmp_path: Path) -> None:
    from portaflow.imports import ImportFailed, resolve_model_version

    def registry(*artifacts: str) -> Path:
        store = tmp_path / f"s{len(artifacts)}"
        body = {"model": "m", "run_id": "r1", "created": 1.0, "tags": []}
        body["artifacts"] = [{"name": a, "uri": f"/x/{a}", "sha256": "0"} for a in artifacts]
        from portaflow.storage import encode_record

        folder = store / "registry" / "m"
        folder.mkdir(parents=True)
        (folder / "version-r1.json").write_bytes(encode_record("version", body))
        return store

    one = registry("train.weights")
    assert resolve_model_version(str(one), "m")[1]["name"] == "train.weights"
    several = registry("ingest.output", "train.model", "eval.report")
    assert resolve_model_version(str(several), "m")[1]["name"] == "train.model"
    assert resolve_model_version(str(several), "m", artifact="report")[1]["name"] == "eval.report"
    assert (
        resolve_model_version(str(several), "m", version=1, artifact="ingest.output")[1]["name"]
        == "ingest.output"
    )
    two = registry("a.x", "b.y")
    with pytest.raises(ImportFailed, match=r'artifact="task\.output"'):
        resolve_model_version(str(two), "m")


ENGINE_IMPORTS = """
from pathlib import Path

from portaflow import importer, pipeline, step


@step
def size(p: Path) -> int:
    return p.stat().st_size


@pipeline
def imports(uri: str = "s3://b/k"):
    size(importer("https://example.com/data.csv", type=Path))
    size(importer("gs://bucket/dir/x.bin", type=Path))
    size(importer(uri, type=Path))
    size(importer("s3://bucket/y", type=Path))
"""


def test_argo_fetches_https_and_gs_literals_as_input_artifacts(tmp_path: Path) -> None:
    from argo.checks import check_result

    (tmp_path / "pipeline.py").write_text(ENGINE_IMPORTS)
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    result = load("argo")(p, options=EmitOptions())
    (doc,) = check_result(result)  # Argo's schema, hera's models, our lint
    templates = {t["name"]: t for t in doc["spec"]["templates"]}
    sources = {
        name: (t.get("inputs", {}).get("artifacts") or [None])[0]
        for name, t in templates.items()
        if name.startswith("importer")
    }
    source = "/portaflow/in/portaflow-import-source"
    assert sources["importer"] == {
        "name": "portaflow-import-source",
        "http": {"url": "https://example.com/data.csv"},
        "path": source,
    }
    assert sources["importer-2"] == {
        "name": "portaflow-import-source",
        "gcs": {"bucket": "bucket", "key": "dir/x.bin"},
        "path": source,
    }
    # A parameter URI and an s3:// literal: the task fetches them with the store's credentials.
    assert sources["importer-3"] is None and len(sources) == 3
    fetched = [t for t in templates.values() if f"fetched={json.dumps(source)}" in str(t)]
    assert len(fetched) == 2


def test_an_engine_fetched_source_is_laid_out_under_its_uri_name(tmp_path: Path) -> None:
    from portaflow.imports import _import_task
    from portaflow.materializers import load_artifact

    (tmp_path / "portaflow-import-source").write_text("a,b\n")
    item = _import_task(
        "https://example.com/data.csv",
        "pathlib.Path",
        fetched=str(tmp_path / "portaflow-import-source"),
    )
    info = item.write(tmp_path / "artifact")
    assert info.files == ("file/data.csv",)
    assert load_artifact(tmp_path / "artifact").read_text() == "a,b\n"
    sidecar = json.loads((tmp_path / "artifact" / "portaflow-artifact.json").read_text())
    assert sidecar["source"]["uri"] == "https://example.com/data.csv"


def test_resume_keeps_what_the_run_already_imported(project: Path) -> None:
    failed = _run(project, "score.py")  # no model yet: model_version fails, the import is done
    assert not failed.ok
    imported = _by_task(failed)["importer"].outputs["artifact"]["sha256"]
    (project / "data" / "notes.txt").write_text("changed after the failure\n")
    assert _run(project).model_version == ("vocabulary", 1)
    store = Store(project / ".portaflow")
    try:
        store.promote("vocabulary", 1, "production")
    finally:
        store.close()
    resumed = run_pipeline(
        None, root=project, store=project / ".portaflow", resume=failed.run_id, workers=2
    )
    assert resumed.ok, resumed.failed
    tasks = _by_task(resumed)
    assert tasks["importer"].reused and tasks["importer"].outputs["artifact"]["sha256"] == imported
    assert not tasks["model_version"].reused


def test_kfp_refuses_placeholder_text_in_an_importer(tmp_path: Path) -> None:
    src = ENGINE_IMPORTS.replace(
        'importer("s3://bucket/y", type=Path)',
        'importer("s3://bucket/y", type=Path, metadata={"k": "{{$.inputs.parameters[\'uri\']}}"})',
    )
    (tmp_path / "pipeline.py").write_text(src)
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    with pytest.raises(BackendError) as info:
        load("kfp")(p, options=EmitOptions())
    (msg,) = info.value.messages
    assert msg.code == "PF635" and "KFP" in msg.message and "Argo" in msg.hint
    assert load("argo")(p, options=EmitOptions()).files  # data on Argo


def test_importer_called_inside_a_step_fails_that_step_like_any_error(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(
        textwrap.dedent(
            """
            from portaflow import importer, pipeline, step

            @step
            def load() -> int:
                return len(importer("missing.bin", type=bytes))

            @pipeline
            def p():
                load()
            """
        )
    )
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    result = run_pipeline(p, root=tmp_path, store=tmp_path / ".portaflow")
    (failed,) = result.failed
    assert "exit code 1" in failed.message  # the step raised: retried like any step failure
    assert "Traceback" in Path(failed.log_path or "").read_text()


def test_dry_run_says_imports_are_fetched_on_every_run(project: Path) -> None:
    p = compile_file(project / "pipeline.py", root=project)
    plan = run_pipeline(p, root=project, store=project / ".portaflow", dry_run=True)
    notes = {e.task: e.message for e in plan.executions}
    assert notes["importer"] == notes["importer_2"] == "fetched again on every run"


@pytest.mark.slow
def test_model_version_runs_under_kfp_local_as_it_runs_locally(project: Path) -> None:
    """score.py's KFP output, run by kfp.local: the model_version task reads the registry from
    the stack's store (PORTAFLOW_STORE_URI), as the pod would."""
    kfp_local = pytest.importorskip("kfp.local")
    from kfp.components import load_component_from_file

    assert _run(project).model_version == ("vocabulary", 1)
    store = Store(project / ".portaflow")
    try:
        store.promote("vocabulary", 1, "production")
    finally:
        store.close()
    local = _run(project, "score.py")
    assert local.ok, local.failed
    spec = project / "score.yaml"
    # The stack's store as a file:// URL: the pods (here kfp.local's processes) read the
    # registry from PORTAFLOW_STORE_URI as they would from s3:// on a cluster. kfp.local applies
    # the container's env but not the platform spec, which gives a pod its run id.
    spec.write_text(
        _emit_file(project / "score.py", "kfp", {"store": (project / ".portaflow").as_uri()})
    )
    records = project / "kfp-records"
    env = {
        "PORTAFLOW_ROOT": str(project),
        "PORTAFLOW_KFP_RECORDS": str(records),
        "PORTAFLOW_RUN_ID": "kfp-local-score",
    }
    import builtins
    import os

    saved = {k: os.environ.get(k) for k in env}
    original_print = builtins.print
    os.environ.update(env)
    try:
        kfp_local.init(
            runner=kfp_local.SubprocessRunner(use_venv=False),
            pipeline_root=str(project / "kfp-root"),
        )
        load_component_from_file(str(spec))()
    finally:
        builtins.print = original_print
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ran = {
        r["task"]: r for r in map(json.loads, (records / "records.jsonl").read_text().splitlines())
    }
    assert ran["model_version"]["state"] == "succeeded"
    assert ran["coverage"]["outputs"] == {"output": local.outputs["score"]["param"]}


def _emit_file(path: Path, target: str, extra: dict[str, Any]) -> str:
    p = compile_file(path, root=path.parent)
    return str(load(target)(p, options=EmitOptions(extra=extra)).files[0].text)


@pytest.mark.slow
def test_model_version_runs_in_a_real_airflow_as_it_runs_locally(project: Path) -> None:
    """score.py as an Airflow DAG (local flavour) run by a real Airflow: the worker's
    model_version task reads the registry and coverage equals portaflow run's."""
    import importlib

    # target_airflow puts the Airflow test helpers (tests/airflow) on sys.path.
    target_airflow = importlib.import_module("conformance.target_airflow")
    dagkit = importlib.import_module("dagkit")
    airflow_outcome = importlib.import_module("af_outcomes").airflow_outcome

    assert _run(project).model_version == ("vocabulary", 1)
    store = Store(project / ".portaflow")
    try:
        store.promote("vocabulary", 1, "production")
    finally:
        store.close()
    local = _run(project, "score.py")
    assert local.ok, local.failed
    # dagkit compiles folder/pipeline.py: score.py becomes it, the training file `vocab.py`.
    (project / "vocab.py").write_text((project / "pipeline.py").read_text())
    score = (project / "score.py").read_text().replace("from pipeline import", "from vocab import")
    (project / "pipeline.py").write_text(score)
    venv, home, env = target_airflow._airflow()
    p, file = dagkit.compile_example(project, home / "dags")
    env = {
        **env,
        "PORTAFLOW_ARTIFACT_STORE": str(project / "airflow-artifacts"),
        "PORTAFLOW_REGISTRY_URI": str(project / ".portaflow"),
    }
    (result,) = dagkit.run_jobs(
        venv.python, env, home / "dags", [{"dag_id": file[:-3], "conf": {}}]
    )
    outcome = airflow_outcome(p, result)
    assert outcome.status == "succeeded", result
    assert outcome.tasks["model_version"].state == "succeeded"
    assert outcome.tasks["coverage"].outputs == {"output": local.outputs["score"]["param"]}
