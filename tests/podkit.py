"""Run a compiled manifest's container the way its pod would (issue 14's "pod" tests).

Shared by the backends' pod tests (tests/argo/test_pod*.py; KFP and Airflow reuse it):

- `pod_python(libs)`: a fresh venv holding only `libs` + s3fs (no portaflow, no
  project code), cached under PORTAFLOW_TEST_CACHE (default
  ~/.cache/portaflow-tests) as `pod-<hash>`; used only once its `.complete`
  marker exists, built under a file lock. `python tests/podkit.py` prepares the
  default one in advance.
- `pod_argv(command, values, pod)`: the container's argv with the engine's
  template tags substituted and the fixed in-container root `/portaflow/` moved
  under a local folder `pod` (the bootstrap's own source, argv[2], is left as it is).
- `deliver_s3(artifact, pod, server)`: an S3 input artifact fetched from the moto
  server of tests/s3kit.py to the path it names, as the engine's executor does.
- `run_pod(...)`: the argv run by the pod venv's python in an empty working folder,
  with the container's env, the S3 server's env and a private code cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import venvkit
from s3kit import S3Server
from venvkit import need

#: What every pod venv holds besides the example's own libraries: the store's file system.
BASE_LIBS = ("s3fs",)
#: The root of the task protocol's paths inside a container.
POD_ROOT = "/portaflow/"


def bare_pod_python(absent: Sequence[str] = ("portaflow",)) -> Path:
    """`pod_python()`, checked to hold none of `absent` (in a test: `need` it when pip fails)."""
    try:
        found = pod_python()
    except RuntimeError as exc:
        need("a pod venv (python -m venv + pip install s3fs)", exc)
        raise
    for module in absent:
        bare = subprocess.run([found, "-c", f"import {module}"], capture_output=True, check=False)
        assert bare.returncode == 1, f"the pod venv must not hold {module}"
    return found


def local_outputs(root: Path) -> dict[str, Any]:
    """What `portaflow run` of root/pipeline.py gives: each execution's `output`, by key."""
    from click.testing import CliRunner

    from portaflow.compiler.cli import main

    done = CliRunner().invoke(main, ["run", str(root / "pipeline.py")])
    assert done.exit_code == 0, done.output
    listed = CliRunner().invoke(main, ["runs", "list", "--json", "--root", str(root)])
    run_id = json.loads(listed.output)[0]["id"]
    shown = CliRunner().invoke(main, ["runs", "show", run_id, "--json", "--root", str(root)])
    return {e["key"]: e["outputs"]["output"] for e in json.loads(shown.output)["executions"]}


def pod_python(libs: Sequence[str] = ()) -> Path:
    """The python of a cached venv holding only `libs` and s3fs (RuntimeError if pip fails)."""
    return venvkit.ensure("pod", sorted({*BASE_LIBS, *libs})).python


_TAG = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def pod_argv(command: Sequence[str], values: Mapping[str, str], pod: Path) -> list[str]:
    """`command` with `{{tag}}`s replaced from `values` and `/portaflow/...` moved under `pod`."""
    out = []
    for i, arg in enumerate(command):
        if i == 2 and command[1] == "-c":
            out.append(arg)  # the bootstrap program itself: not a template
            continue

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise KeyError(f"no value for the template tag {m.group(0)}")
            return values[m.group(1)]

        arg = _TAG.sub(sub, arg)
        out.append(arg.replace(POD_ROOT, f"{pod}/"))
    return out


def deliver_s3(artifact: Mapping[str, Any], pod: Path, server: S3Server) -> Path:
    """Fetch an S3 input artifact from the moto server to its path under `pod`."""
    import s3fs

    s3 = artifact["s3"]
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": server.endpoint}
    )
    dest = Path(str(artifact["path"]).replace(POD_ROOT, f"{pod}/"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(fs.cat_file(f"{s3['bucket']}/{s3['key']}"))
    return dest


def run_pod(
    argv: Sequence[str],
    *,
    python: Path | str,
    pod: Path,
    env: Mapping[str, str] = {},
    server: S3Server | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a container argv (argv[0] == "python") with `python`, from an empty folder in `pod`."""
    assert argv[0] == "python", argv[:2]
    work = pod / "work"
    work.mkdir(parents=True, exist_ok=True)
    base = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in os.environ}
    full = {
        **base,
        **(server.env() if server is not None else {}),
        "PORTAFLOW_CODE_CACHE": str(pod / "code-cache"),
        **env,
    }
    return subprocess.run(
        [str(python), *argv[1:]],
        cwd=work,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def container_env(template: Mapping[str, Any]) -> dict[str, str]:
    """The plain `env` values of an Argo template's container."""
    return {e["name"]: e["value"] for e in template["container"].get("env", []) if "value" in e}


if __name__ == "__main__":
    print(pod_python())
