"""The code package: a deterministic archive of what a pipeline's tasks import (issue 14).

A compiled manifest in package mode runs `python -c <bootstrap>` (runtime/bootstrap.py)
in any Python image holding the user's third-party libraries: the bootstrap
fetches this archive, checks its sha256 against the digest compiled into the
manifest, and puts it first on `sys.path`. The archive holds

- the project files the pipeline's steps reach: the modules the code hash walks
  (`CodeHasher.step_closure`), plus the project modules their import
  statements name and the package `__init__.py` files above them, because the
  task imports the step's module whole (`importlib.import_module`), which runs
  its imports; nothing else of the project, so an edit elsewhere keeps the digest;
- the portaflow runtime (runtime/ -> `portaflow/`): standard library only, so it travels.

Steps in installed packages (`<installed>/...`) are not copied: the image must hold
them like any other third-party library. Data files a step opens are not copied either.

The archive is an UNCOMPRESSED PAX tar (its bytes, and so the digest, do not depend
on a zlib build), entries sorted by name, directories before what they hold,
mtime 0, uid/gid 0, empty owner names, mode 0o644 (0o755 for directories): the same
bytes on every run and machine. Uncompressed also means Argo hands the file over as
it is: its executor only unpacks gzip-compressed tars (workflow/executor `untar`).

Backends receive the package as a `portaflow.backends.CodeRef` in
`EmitOptions.code` (mode, digest, uri, image): a plain value, so a backend
never reads files. The archive's place in the store is `code_uri(store, digest)`:
`{store}/code/{digest}.tar`, written put-if-absent by `portaflow publish`.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from portaflow.compiler import ir
from portaflow.compiler.codehash import CodeHasher
from portaflow.compiler.source import INSTALLED, Module, Project

#: Top-level folder of the runtime in the archive: `import portaflow` finds it.
RUNTIME_PREFIX = "portaflow"


class CodePackageError(Exception):
    """A project whose files cannot make a package (a file named like the runtime, unreadable)."""


@dataclass(frozen=True, slots=True)
class CodePackage:
    """The files of one pipeline's code package and the digest of their archive."""

    #: Hex sha256 of `archive()`.
    digest: str
    #: (arcname, source file), sorted by arcname; arcnames use forward slashes.
    files: tuple[tuple[str, Path], ...]

    def archive(self) -> bytes:
        """The archive bytes, read from the files again; an error if they changed since."""
        data = build_archive(self.files)
        if hashlib.sha256(data).hexdigest() != self.digest:
            raise CodePackageError(
                "the project's files changed since the code package was computed; compile again"
            )
        return data


def code_uri(store: str, digest: str) -> str:
    """Where the archive of `digest` lives in a store URL."""
    return f"{store.rstrip('/')}/code/{digest}.tar"


def code_package(pipeline: ir.Pipeline, root: Path) -> CodePackage:
    """The code package of a compiled pipeline whose project root is `root`."""
    project = Project(root)
    hasher = CodeHasher(project)
    names: set[str] = set()
    for step in pipeline.steps:
        if step.container is not None or step.span.path.startswith(INSTALLED):
            continue
        module_name, _, func = step.ref.partition(":")
        mod = project.find(module_name)
        node = mod.defs.get(func) if mod is not None else None
        if mod is None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise CodePackageError(f"step {step.ref} is not a function in the project at {root}")
        names |= hasher.step_closure(mod, node)
    files = {mod.rel: project.root / mod.rel for mod in _import_closure(project, names)}
    for arcname in files:
        if arcname.split("/")[0] in (RUNTIME_PREFIX, f"{RUNTIME_PREFIX}.py"):
            raise CodePackageError(
                f"{arcname}: a project file named like portaflow's runtime cannot travel in the "
                "code package; rename it"
            )
    files.update(runtime_files())
    ordered = tuple(sorted(files.items()))
    return CodePackage(digest=hashlib.sha256(build_archive(ordered)).hexdigest(), files=ordered)


def runtime_files() -> dict[str, Path]:
    """The runtime's modules: arcname `portaflow/<file>.py` -> file (its top level only, so an
    installed portaflow's compiler and backends subpackages stay home)."""
    import portaflow

    folder = Path(portaflow.__file__).parent
    return {f"{RUNTIME_PREFIX}/{p.name}": p for p in sorted(folder.glob("*.py"))}


def _import_closure(project: Project, names: set[str]) -> list[Module]:
    """The modules named, every project module their imports name (transitively), and the
    packages above each: what `import_module` of a step's module executes."""
    todo = sorted(names)
    seen: set[str] = set()
    out: list[Module] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        mod = project.find(name)
        if mod is None or mod.rel.startswith(INSTALLED):
            continue
        out.append(mod)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        for target in _imported(mod):
            todo += [".".join(target.split(".")[:i]) for i in range(1, target.count(".") + 2)]
    return out


def _imported(mod: Module) -> list[str]:
    """Dotted names a module's import statements may load, outside function bodies (those a
    reached function runs are in the hash's closure already)."""
    out: list[str] = []
    stack: list[ast.AST] = list(mod.tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = Project.absolute_module(mod, node.module, node.level)
            if base:
                out.append(base)
                out += [f"{base}.{a.name}" for a in node.names if a.name != "*"]
        stack.extend(ast.iter_child_nodes(node))
    return out


def build_archive(files: tuple[tuple[str, Path], ...]) -> bytes:
    """The deterministic tar of `files` (see the module docstring for the fixed fields)."""
    entries: dict[str, bytes | None] = {}  # arcname -> bytes, None for a directory
    for arcname, path in files:
        parts = PurePosixPath(arcname).parts
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), None)
        try:
            entries[arcname] = path.read_bytes()
        except OSError as exc:
            raise CodePackageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            data = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(package: CodePackage, store: str, options: str | None = None) -> tuple[str, bool]:
    """Write the archive to `{store}/code/{digest}.tar` unless it is there; (uri, written).

    `options` is the stack's `store_options` JSON, used when `PORTAFLOW_STORE_OPTIONS`
    is not set (the environment wins, as in the pods). An archive already in the store
    is read back and checked: a different file under the digest's name is an error.
    """
    import os

    from portaflow.storage import open_location

    rel = f"code/{package.digest}.tar"
    data = package.archive()
    saved = os.environ.get("PORTAFLOW_STORE_OPTIONS")
    if saved is None and options:
        os.environ["PORTAFLOW_STORE_OPTIONS"] = options
    try:
        loc = open_location(store)
        written = loc.put_if_absent(rel, data)
        if not written:
            there = loc.read(rel)
            if there is None or hashlib.sha256(there).hexdigest() != package.digest:
                raise CodePackageError(
                    f"{loc.full(rel)} exists but does not hold the archive of digest "
                    f"{package.digest}; delete it and publish again"
                )
    finally:
        if saved is None:
            os.environ.pop("PORTAFLOW_STORE_OPTIONS", None)
    return code_uri(store, package.digest), written
