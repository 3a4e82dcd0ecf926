"""The bootstrap a package-mode manifest runs before the task (issue 14, docs/deploy.md).

The image holds no portaflow and none of the project's code, so a compiled
manifest runs

    python -c BOOTSTRAP_SOURCE --code-sha256 H --code-uri URI [--code-path PATH]
        [--package SPEC]... -- <the arguments of python -m portaflow.task>

as one argv list (never a shell string). The bootstrap's own source travels in
the manifest: it is the text of `portaflow/_boot.py`, standard library only.

1. It reads the archive at `--code-path` when the backend delivered the file
   there (Argo input artifact, KFP input artifact, Airflow init container);
   otherwise it fetches `--code-uri` with fsspec (and `PORTAFLOW_STORE_OPTIONS`).
2. It checks the sha256: a missing or tampered archive exits 2 with one line,
   `portaflow bootstrap: error: code archive ... has sha256 ..., which does not
   match the manifest's ...; run portaflow publish`.
3. It unpacks it into `$PORTAFLOW_CODE_CACHE/<digest>` (default
   `<tmp>/portaflow-code`) through a temporary folder and one rename, refusing
   absolute, `..`, link and device members; a digest already there is reused.
4. It puts that folder first on `sys.path`, installs `--package` specs with
   `pip install --target <cache>/packages/<hash of the specs>` (once per cache,
   with a warning that an image is the reproducible choice) and runs
   `portaflow.task`'s main with the remaining arguments (`--root` = the folder
   unless given). Its exit status is the task's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def _compact(text: str) -> str:
    """The program without its docstring line, comment lines and blank lines: it is
    repeated in every container of a manifest, and none of those change what it does."""
    lines = text.splitlines()[1:]  # the first line is the one-line docstring
    kept = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"


#: The bootstrap program, run with `python -c`.
BOOTSTRAP_SOURCE: str = _compact((Path(__file__).parent / "_boot.py").read_text(encoding="utf-8"))


def bootstrap_command(
    *,
    digest: str,
    uri: str,
    task_args: Sequence[str],
    code_path: str | None = None,
    packages: Sequence[str] = (),
    python: str = "python",
) -> list[str]:
    """The container command: `python -c BOOTSTRAP_SOURCE <bootstrap flags> -- <task_args>`."""
    cmd = [python, "-c", BOOTSTRAP_SOURCE, "--code-sha256", digest, "--code-uri", uri]
    if code_path is not None:
        cmd += ["--code-path", code_path]
    for spec in packages:
        cmd += ["--package", spec]
    return [*cmd, "--", *task_args]
