"""portaflow bootstrap: fetch, check and unpack the code package, then run portaflow.task."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile


def fail(msg: str) -> int:
    print(f"portaflow bootstrap: error: {msg}", file=sys.stderr)
    return 2


def fetch(uri: str) -> bytes:
    import fsspec  # type: ignore[import-untyped,unused-ignore]

    opts = json.loads(os.environ.get("PORTAFLOW_STORE_OPTIONS") or "{}")
    with fsspec.open(uri, "rb", **opts) as fh:
        data: bytes = fh.read()
        return data


def place(tmp: str, dest: str) -> None:
    try:
        os.rename(tmp, dest)  # atomic: a concurrent task may have won, which is as good
    except OSError:
        if not os.path.isdir(dest):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the loser's copy, or a refused one


def unpack(data: bytes, dest: str) -> None:
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=os.path.dirname(dest))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar.getmembers():
                parts = m.name.split("/")
                if m.name.startswith("/") or ".." in parts or "" in parts or "\\" in m.name:
                    raise ValueError(f"the code archive holds an unsafe member {m.name!r}")
                path = os.path.join(tmp, *parts)
                if m.isdir():
                    os.makedirs(path, exist_ok=True)
                elif m.isfile():
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    src = tar.extractfile(m)
                    assert src is not None
                    with open(path, "wb") as fh:
                        fh.write(src.read())
                else:
                    raise ValueError(f"the code archive holds a link or device {m.name!r}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    place(tmp, dest)


def install(specs: list[str], cache: str) -> str:
    key = hashlib.sha256("\n".join(specs).encode()).hexdigest()[:16]
    target = os.path.join(cache, "packages", key)
    if not os.path.isdir(target):
        print(
            f"portaflow bootstrap: warning: installing {' '.join(specs)} at run time; "
            "an image holding them is the reproducible choice (docs/deploy.md)",
            file=sys.stderr,
        )
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".install-", dir=os.path.dirname(target))
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-input", "--target", tmp]
        try:
            subprocess.run([*pip, "--", *specs], check=True, stdout=sys.stderr)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        place(tmp, target)
    return target


class BootError(Exception):
    pass


# The archive's bytes: the file the backend delivered at `path`, else fetched from `uri`.
def read(path: str | None, uri: str) -> tuple[bytes, str]:
    where = path if path and os.path.isfile(path) else uri
    if not where:
        raise BootError(f"no code archive at --code-path {path!r} and no --code-uri to fetch")
    try:
        if where == path:
            with open(where, "rb") as fh:
                return fh.read(), where
        return fetch(uri), where
    except ImportError:
        raise BootError(
            f"cannot fetch {uri}: install fsspec (and s3fs for s3://) in the image"
        ) from None
    except Exception as exc:
        raise BootError(
            f"cannot read the code archive {where}: {exc}; run portaflow publish"
        ) from None


# The checked, unpacked package first on sys.path (its folder returned), then the
# `--package` specs installed; every failure is a BootError holding one line.
def prepare(want: str, uri: str, path: str | None = None, packages: list[str] | None = None) -> str:
    cache = os.environ.get("PORTAFLOW_CODE_CACHE") or os.path.join(
        tempfile.gettempdir(), "portaflow-code"
    )
    dest = os.path.join(cache, want)
    if len(want) != 64 or not all(c in "0123456789abcdef" for c in want):
        raise BootError(f"--code-sha256 {want!r} is not a hex sha256")
    if not os.path.isdir(dest):
        data, where = read(path, uri)
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise BootError(
                f"code archive {where} has sha256 {got}, which does not match the manifest's "
                f"{want}; run portaflow publish"
            )
        os.makedirs(cache, exist_ok=True)
        try:
            unpack(data, dest)
        except (ValueError, tarfile.TarError) as exc:
            raise BootError(f"{exc} ({where}); run portaflow publish") from None
    sys.path.insert(0, dest)
    if packages:
        try:
            sys.path.insert(1, install(packages, cache))
        except (OSError, subprocess.CalledProcessError) as exc:
            raise BootError(f"pip could not install {' '.join(packages)}: {exc}") from None
    return dest


def main(argv: list[str]) -> int:
    own, rest = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    opts: dict[str, list[str]] = {}
    for i in range(0, len(own) - 1, 2):
        opts.setdefault(own[i], []).append(own[i + 1])
    if len(own) % 2 or not set(opts) <= {"--code-sha256", "--code-uri", "--code-path", "--package"}:
        return fail(f"bad arguments {own!r}; see portaflow/bootstrap.py")
    try:
        dest = prepare(
            opts.get("--code-sha256", [""])[-1],
            opts.get("--code-uri", [""])[-1],
            opts.get("--code-path", [""])[-1],
            opts.get("--package"),
        )
    except BootError as exc:
        return fail(str(exc))
    if "--root" not in rest:
        rest = ["--root", dest, *rest]
    from portaflow.task import main as task_main

    return task_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
