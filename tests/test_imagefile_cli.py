"""`portaflow image` and image mode end to end: the build context, its tag, and the manifests.

The folder `portaflow image -o DIR` writes is the build context; the tag it prints is the
default image of every backend's steps when the stack says `code = "image"`. The last
test runs an Argo manifest's container command the way the image would: the code
archive unpacked where the Dockerfile's ADD puts it, its ENV and WORKDIR, and a Python
that holds no portaflow (`-S`: no site-packages).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import yaml
from click.testing import CliRunner, Result
from dockerfile_parse import DockerfileParser

from pfhelpers import EXAMPLES, check_cli_output
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main
from portaflow.compiler.codepkg import code_package
from portaflow.compiler.imagefile import CODE_DIR, image_tag

REPO_IMAGE = "ghcr.io/acme/quickstart"
STACK = f"""
[tool.portaflow.stacks.img]
target = "argo"
code = "image"
image_repository = "{REPO_IMAGE}"
"""
TAG = re.compile(rf"^image: ({re.escape(REPO_IMAGE)}:pf-[0-9a-f]{{16}})$", re.M)


def _project(tmp_path: Path, stack: str = STACK, example: str = "quickstart") -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES / example, root, ignore=shutil.ignore_patterns("expected"))
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(stack)
    return root


def _run(*args: str, cwd: Path, stale: bool = False) -> Result:
    """Invoke the CLI in `cwd`; `stale`: the exit is not about the input (stale files, -o)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), prog_name="portaflow")
    finally:
        os.chdir(old)
    if not stale:  # a stale file under --check is not an error in the input
        check_cli_output(result.exit_code, result.stdout, result.stderr, " ".join(args))
    return result


def _tag(result: Result) -> str:
    m = TAG.search(result.stdout)
    assert m, result.stdout
    return m.group(1)


def test_image_writes_the_context_and_prints_tag_and_command(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    assert result.exit_code == 0, result.output
    tag = _tag(result)
    assert f"build and push: docker build -t {tag} build && docker push {tag}" in result.stdout
    build = root / "build"
    assert sorted(p.name for p in build.iterdir()) == [".dockerignore", "Dockerfile", "code.tar"]
    # code.tar is the code package's archive: its sha256 is the digest the tag is made of.
    pkg = code_package(compile_file(root / "pipeline.py", root=root), root)
    archive = (build / "code.tar").read_bytes()
    assert archive == pkg.archive()
    assert hashlib.sha256(archive).hexdigest() == pkg.digest
    assert tag == image_tag(REPO_IMAGE, (build / "Dockerfile").read_text(), pkg.digest)
    assert "PF445" not in result.stderr  # the stack is in image mode


def test_image_is_byte_identical_across_runs_and_check_finds_stale_files(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    before = {p.name: p.read_bytes() for p in (root / "build").iterdir()}
    second = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    assert {p.name: p.read_bytes() for p in (root / "build").iterdir()} == before
    assert _tag(first) == _tag(second)
    ok = _run("image", "pipeline.py", "--stack", "img", "-o", "build", "--check", cwd=root)
    assert ok.exit_code == 0 and "up to date: 3 file(s)" in ok.stderr
    assert _tag(ok) == _tag(first)
    (root / "build" / "Dockerfile").write_text("FROM scratch\n")
    stale = _run(
        "image", "pipeline.py", "--stack", "img", "-o", "build", "--check", cwd=root, stale=True
    )
    assert stale.exit_code == 1
    assert (
        "stale: Dockerfile in build; regenerate with "
        "`portaflow image pipeline.py --stack img -o build`" in stale.stderr
    )
    assert (root / "build" / "Dockerfile").read_text() == "FROM scratch\n"  # --check writes nothing
    (root / "pipeline.py").write_text((root / "pipeline.py").read_text().replace("x * x", "x**2"))
    stale = _run(
        "image", "pipeline.py", "--stack", "img", "-o", "build", "--check", cwd=root, stale=True
    )
    assert stale.exit_code == 1 and "stale: Dockerfile, code.tar" in stale.stderr
    missing = _run(
        "image", "pipeline.py", "--stack", "img", "-o", "nowhere", "--check", cwd=root, stale=True
    )
    assert missing.exit_code == 1


def test_the_tag_changes_iff_reached_code_or_dependencies_change(tmp_path: Path) -> None:
    root = _project(tmp_path)

    def tag() -> str:
        return _tag(_run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root))

    base = tag()
    (root / "notes.md").write_text("not code the pipeline reaches\n")
    (root / "unused.py").write_text("def helper():\n    return 1\n")
    assert tag() == base
    with tarfile.open(root / "build" / "code.tar") as tar:
        names = tar.getnames()
    assert "pipeline.py" in names and "notes.md" not in names and "unused.py" not in names
    assert all(n.endswith(".py") for n in names if "." in n.rsplit("/", 1)[-1])
    pipeline = root / "pipeline.py"
    pipeline.write_text(
        pipeline.read_text().replace("return sum(values)", "return sum(values) + 0")
    )
    changed = tag()
    assert changed != base
    py = root / "pyproject.toml"
    py.write_text(
        py.read_text().replace(
            'version = "0.0.0"', 'version = "0.0.0"\ndependencies = ["six==1.16.0"]'
        )
    )
    assert tag() != changed


def test_compile_in_image_mode_uses_the_tag_on_every_backend(tmp_path: Path) -> None:
    root = _project(tmp_path)
    tag = _tag(_run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root))
    argo = _run("compile", "pipeline.py", "--stack", "img", "--target", "argo", cwd=root)
    assert argo.exit_code == 0, argo.output
    images = [
        t["container"]["image"]
        for doc in yaml.safe_load_all(argo.stdout)
        if doc
        for t in doc["spec"]["templates"]
        if "container" in t
    ]
    assert images and set(images) == {tag}
    kfp = _run("compile", "pipeline.py", "--stack", "img", "--target", "kfp", cwd=root)
    assert kfp.exit_code == 0, kfp.output
    spec = next(d for d in yaml.safe_load_all(kfp.stdout) if d and "deploymentSpec" in d)
    execs = spec["deploymentSpec"]["executors"].values()
    assert {e["container"]["image"] for e in execs} == {tag}
    airflow = _run("compile", "pipeline.py", "--stack", "img", "--target", "airflow", cwd=root)
    assert airflow.exit_code == 0, airflow.output
    images = {
        kw.value.value
        for node in ast.walk(ast.parse(airflow.stdout))
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "image" and isinstance(kw.value, ast.Constant)
    }
    assert images == {tag}


def test_a_steps_own_image_and_the_image_flag_win(tmp_path: Path) -> None:
    root = _project(tmp_path)
    pipeline = root / "pipeline.py"
    pipeline.write_text(
        pipeline.read_text().replace(
            "@step\ndef square", '@step(image="ghcr.io/acme/gpu:2.0")\ndef square'
        )
    )
    tag = _tag(_run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root))
    argo = _run("compile", "pipeline.py", "--stack", "img", "--target", "argo", cwd=root)
    by_name = {
        t["name"]: t["container"]["image"]
        for d in yaml.safe_load_all(argo.stdout)
        if d
        for t in d["spec"]["templates"]
        if "container" in t
    }
    assert by_name["square"] == "ghcr.io/acme/gpu:2.0"
    assert by_name["make-numbers"] == by_name["total"] == tag
    flag = _run(
        "compile", "pipeline.py", "--stack", "img", "-t", "argo", "--image", "x/y:1", cwd=root
    )
    assert "x/y:1" in flag.stdout and tag not in flag.stdout


def test_image_mode_without_a_repository_is_pf440(tmp_path: Path) -> None:
    root = _project(tmp_path, '\n[tool.portaflow.stacks.img]\ntarget = "argo"\ncode = "image"\n')
    for args in (
        ("compile", "pipeline.py", "--stack", "img"),
        ("image", "pipeline.py", "--stack", "img", "-o", "build"),
    ):
        result = _run(*args, cwd=root)
        assert result.exit_code == 1
        assert re.search(r"^pyproject\.toml:\d+:1: error PF440: ", result.stderr, re.M), (
            result.stderr
        )
    assert not (root / "build").exists()


def test_image_for_a_stack_not_in_image_mode_warns_pf445(tmp_path: Path) -> None:
    root = _project(tmp_path, f'\n[tool.portaflow.stacks.img]\nimage_repository = "{REPO_IMAGE}"\n')
    result = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    assert result.exit_code == 0
    assert "warning PF445: stack 'img' is not in image mode" in result.stderr
    # ... and compile keeps the stack's default image.
    argo = _run("compile", "pipeline.py", "--stack", "img", "-t", "argo", cwd=root)
    assert _tag(result) not in argo.stdout


def test_image_help_claims() -> None:
    text = CliRunner().invoke(main, ["image", "--help"], terminal_width=200).stdout
    for claim in ("-o, --output DIR", "--check", "--stack NAME", "Dockerfile", ".dockerignore"):
        assert claim in text
    assert "docker build -t TAG DIR && docker push TAG" in text
    assert "python:3.11-slim" in text and "/opt/portaflow/code" in text
    overview = CliRunner().invoke(main, ["--help"]).stdout
    assert re.search(r"^\s+image\s+Write the pipeline's image build context", overview, re.M)


def _substitute(items: list[str], values: dict[str, str], out: Path) -> list[str]:
    def one(text: str) -> str:
        text = re.sub(r"\{\{inputs\.parameters\.([\w-]+)\}\}", lambda m: values[m.group(1)], text)
        text = text.replace("{{workflow.uid}}", "uid-1")
        return text.replace("/portaflow/out/", f"{out}/")

    return [one(i) for i in items]


def test_the_images_layout_runs_the_manifests_command(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    argo = _run("compile", "pipeline.py", "--stack", "img", "-t", "argo", cwd=root)
    templates = {
        t["name"]: t["container"]
        for d in yaml.safe_load_all(argo.stdout)
        if d
        for t in d["spec"]["templates"]
        if "container" in t
    }
    # The image: code.tar unpacked by ADD at CODE_DIR, the Dockerfile's ENV and WORKDIR.
    parser = DockerfileParser(str(root / "build" / "Dockerfile"))
    image_root = tmp_path / "image"
    code_dir = image_root / CODE_DIR.lstrip("/")
    with tarfile.open(root / "build" / "code.tar") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(code_dir, filter="data")
        else:  # pragma: no cover - Python without the extraction filters
            tar.extractall(code_dir)
    env = {k: v.replace(CODE_DIR, str(code_dir)) for k, v in parser.envs.items() if k != "HOME"}
    env |= {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    workdir = parser.structure[-2]["value"].replace(CODE_DIR, str(code_dir))

    runs: list[str] = []

    def task(name: str, **values: str) -> Any:
        out = tmp_path / "out" / str(len(runs))
        runs.append(name)
        out.mkdir(parents=True)
        container = templates[name]
        argv = container["command"] + container.get("args", [])
        assert argv[0] == "python"
        values["portaflow-task"] = name
        cmd = [sys.executable, "-S", *_substitute(argv[1:], values, out)]  # no site-packages
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "output.json").read_text())

    numbers = task("make-numbers", count="3")
    squares = [task("square", x=json.dumps(n)) for n in numbers]
    total = task("total", values=json.dumps(squares))
    assert (numbers, squares, total) == ([1, 2, 3], [1, 4, 9], 14)
    report = task("report", result=json.dumps(total), label='"sum of squares"')
    assert report == "sum of squares: 14"


class _Argo(BaseHTTPRequestHandler):
    """A stand-in Argo Server that records the Workflow it is sent."""

    sent: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.sent.append(body["workflow"])
        wf = body["workflow"]
        wf["metadata"]["name"] = wf["metadata"]["generateName"] + "abcde"
        data = json.dumps(wf).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_submit_in_image_mode_sends_the_tag(tmp_path: Path, monkeypatch: Any) -> None:
    root = _project(tmp_path)
    tag = _tag(_run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root))
    _Argo.sent = []
    httpd = HTTPServer(("127.0.0.1", 0), _Argo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("ARGO_TOKEN", "t")
        host = f"http://127.0.0.1:{httpd.server_address[1]}"
        result = _run("submit", "pipeline.py", "--stack", "img", "--host", host, cwd=root)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 0, result.output
    (wf,) = _Argo.sent
    images = {t["container"]["image"] for t in wf["spec"]["templates"] if "container" in t}
    assert images == {tag}


def test_every_image_diagnostic_is_located_even_without_a_pyproject(tmp_path: Path) -> None:
    # portaflow.toml only: no [project] (PF443), and image mode without a repository (PF440).
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(EXAMPLES / "quickstart" / "pipeline.py", root)
    (root / "portaflow.toml").write_text('[stacks.img]\ncode = "image"\n')
    result = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    assert result.exit_code == 1
    assert "pyproject.toml:1:1: warning PF443: " in result.stderr
    assert "portaflow.toml:1:1: error PF440: " in result.stderr
    (root / "portaflow.toml").write_text('[stacks.img]\ncode = "image"\nimage_repository = "r/q"\n')
    result = _run("image", "pipeline.py", "--stack", "img", "-o", "build", cwd=root)
    assert result.exit_code == 0 and "PF443" in result.stderr
    assert "RUN" not in (root / "build" / "Dockerfile").read_text()


def test_kfp_python_executor_with_an_image_without_kfp_warns_pf447(tmp_path: Path) -> None:
    root = _project(tmp_path)  # the stack's target is argo: its image holds no kfp
    python = _run("compile", "pipeline.py", "--stack", "img", "-t", "kfp", cwd=root)
    assert python.exit_code == 0
    assert re.search(r"^pyproject\.toml:\d+:1: warning PF447: ", python.stderr, re.M)
    container = _run(
        "compile",
        "pipeline.py",
        "--stack",
        "img",
        "-t",
        "kfp",
        "--kfp-executor",
        "container",
        cwd=root,
    )
    assert container.exit_code == 0 and "PF447" not in container.stderr
    kfp_root = _project(tmp_path / "k", STACK.replace('target = "argo"', 'target = "kfp"'))
    kfp = _run("compile", "pipeline.py", "--stack", "img", cwd=kfp_root)
    assert kfp.exit_code == 0 and "PF447" not in kfp.stderr
    dockerfile = _run("image", "pipeline.py", "--stack", "img", "-o", "b", cwd=kfp_root)
    assert dockerfile.exit_code == 0
    assert '"kfp==' in (kfp_root / "b" / "Dockerfile").read_text()


def test_image_never_overwrites_a_dockerfile_it_did_not_write(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "Dockerfile").write_text("FROM mine:1\n")
    result = _run("image", "pipeline.py", "--stack", "img", "-o", ".", cwd=root, stale=True)
    assert result.exit_code == 2 and "Traceback" not in result.output  # a usage error, one line
    assert "was not written by `portaflow image`" in result.stderr
    assert (root / "Dockerfile").read_text() == "FROM mine:1\n"
    assert not (root / "code.tar").exists() and not (root / ".dockerignore").exists()
