"""Existing artifacts as pipeline values: `importer(uri, type=T)` and `model_version(name, ...)`.

In a `@pipeline` body both are compiled into a task of their own (the compiler
never runs them): its step is `portaflow.imports:importer` or
`portaflow.imports:model_version`, run by `python -m portaflow.task` like any
step, with one output (`artifact`, or `model` for a model version). The task does not call a user function: it
fetches the file, folder or artifact directory at the URI into an artifact
directory laid out for the materializer of `T` (so the consumer loads a
`pd.DataFrame` from a Parquet file, a `Path` as a plain file or folder...),
writes a sidecar with the sha256 of what it fetched and where it came from
(`source`), and so every consumer's cache key covers the imported bytes.

    from portaflow import importer, model_version
    df = importer("s3://bucket/data.parquet", type=pd.DataFrame)
    model = model_version("regressor", stage="production")

Called outside a pipeline (a unit test, a notebook), each returns the loaded value.
Standard library only; fsspec is imported when a URL needs it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from portaflow._atomic import atomic_dir
from portaflow.materializers import (
    SCHEMA,
    SIDECAR,
    ArtifactInfo,
    NotAnArtifactError,
    _data_files,
    _digest,
    load_artifact,
    verify_artifact,
)

__all__ = ["IMPORTER_REF", "MODEL_VERSION_REF", "ImportFailed", "importer", "model_version"]

#: `StepDef.ref` of an `importer(...)` task (the IR names it; backends run it like a step).
IMPORTER_REF = "portaflow.imports:importer"
#: `StepDef.ref` of a `model_version(...)` task.
MODEL_VERSION_REF = "portaflow.imports:model_version"
#: Stages `model_version(stage=...)` accepts (the registry's, docs/stores.md).
STAGES = ("staging", "production", "archived")

#: Type name -> (materializer, data file name) of a plain file imported as that type.
_LAYOUT: dict[str, tuple[str, str]] = {
    "pandas.DataFrame": ("pandas.parquet", "data.parquet"),
    "pandas.core.frame.DataFrame": ("pandas.parquet", "data.parquet"),
    "pandas.Series": ("pandas.series.parquet", "data.parquet"),
    "numpy.ndarray": ("numpy.npy", "data.npy"),
    "bytes": ("bytes", "data.bin"),
}
_PATH_TYPES = ("pathlib.Path", "Path", "os.PathLike")


class ImportFailed(Exception):
    """The URI, model or version cannot be imported: a clear one-line reason, never a traceback."""


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import task returns: the task runtime writes it as the output artifact."""

    #: Where the data comes from (a path or URL).
    uri: str
    #: The type the pipeline declared (`importer(type=...)`), "any" for a model version.
    type: str
    #: `importer(metadata=...)`, or the model, version and stage of a model version.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: The sha256 the registry recorded, which the fetched artifact must match (model versions).
    expect_sha256: str | None = None
    #: Where the engine already fetched `uri` to (Argo's input artifact), if it did.
    fetched: str | None = None

    def write(self, target: Path) -> ArtifactInfo:
        """Fetch the source into the artifact directory `target`, atomically; its sidecar."""
        with tempfile.TemporaryDirectory(prefix="portaflow-import-") as scratch:
            local = (
                Path(self.fetched) if self.fetched else _fetch(self.uri, Path(scratch) / "source")
            )
            with atomic_dir(Path(target)) as tmp:
                if (local / SIDECAR).is_file() if local.is_dir() else False:
                    shutil.copytree(local, tmp, dirs_exist_ok=True)
                    try:  # a changed or damaged artifact is refused
                        found = verify_artifact(tmp)
                    except NotAnArtifactError as exc:
                        raise ImportFailed(f"{self.uri}: {exc}") from None
                    if self.expect_sha256 and found.sha256 != self.expect_sha256:
                        raise ImportFailed(
                            f"{self.uri} holds sha256 {found.sha256[:12]}..., the registry "
                            f"recorded {self.expect_sha256[:12]}...: the artifact changed"
                        )
                    sidecar = json.loads((tmp / SIDECAR).read_text(encoding="utf-8"))
                    materializer, type_name = sidecar["materializer"], sidecar["type"]
                    files, sha256, size = list(found.files), found.sha256, found.size
                else:
                    materializer, type_name = _place(local, tmp, self.type, self.uri)
                    files = _data_files(tmp)
                    sha256, size = _digest(tmp, files)
                    sidecar = {
                        "schema": SCHEMA,
                        "type": type_name,
                        "materializer": materializer,
                        "sha256": sha256,
                        "size": size,
                        "files": files,
                        "versions": {},
                    }
                sidecar["source"] = {"uri": self.uri, "metadata": dict(self.metadata)}
                (tmp / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        return ArtifactInfo(
            path=Path(target),
            type=type_name,
            materializer=materializer,
            sha256=sha256,
            size=size,
            files=tuple(files),
            versions={},
        )


def _place(local: Path, tmp: Path, type_name: str, uri: str) -> tuple[str, str]:
    """Lay the plain file or folder `local` out for the materializer of `type_name`."""
    if type_name in _PATH_TYPES:
        if local.is_dir():
            shutil.copytree(local, tmp / "folder")
        else:
            (tmp / "file").mkdir()
            shutil.copyfile(local, tmp / "file" / _basename(uri))
        return "path", "pathlib.Path"
    if local.is_dir():
        raise ImportFailed(
            f"{uri} is a folder, which cannot be loaded as {type_name}: import it with "
            "type=Path, or point at a file (or a portaflow artifact folder)"
        )
    if type_name in _LAYOUT:
        mat, name = _LAYOUT[type_name]
    elif uri.lower().endswith((".pkl", ".pickle")):
        mat, name = "pickle", "data.pkl"
    else:  # a model or other object saved with joblib.dump, as portaflow saves one
        mat, name = "joblib", "data.joblib"
    shutil.copyfile(local, tmp / name)
    return mat, type_name


def _basename(uri: str) -> str:
    path = urllib.parse.urlparse(uri).path if "://" in uri else uri
    return Path(path.rstrip("/")).name or "data"


def _fetch(uri: str, dest: Path) -> Path:
    """Copy the file or folder at `uri` (a path, file://, http(s)://, any fsspec URL) to `dest`."""
    scheme = urllib.parse.urlparse(uri).scheme if "://" in uri else ""
    if scheme in ("", "file"):
        path = Path(urllib.parse.urlparse(uri).path if scheme else uri).expanduser()
        if not path.is_absolute() and os.environ.get("PORTAFLOW_ROOT"):
            path = Path(os.environ["PORTAFLOW_ROOT"], path)  # relative to the project root
        if path.is_dir():
            shutil.copytree(path, dest)
        elif path.is_file():
            shutil.copyfile(path, dest)
        else:
            raise ImportFailed(f"nothing to import at {uri}: no such file or folder")
        return dest
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(uri, timeout=60) as resp, dest.open("wb") as out:
                shutil.copyfileobj(resp, out)
        except OSError as exc:
            raise ImportFailed(f"cannot download {uri}: {exc}") from None
        return dest
    try:
        import fsspec  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise ImportFailed(
            f"importing {uri} needs the Python package 'fsspec' (and s3fs for s3://, gcsfs for "
            "gs://, adlfs for az://): pip install 'portaflow[store]'"
        ) from None
    from portaflow.storage import _storage_options

    try:
        fs, path = fsspec.core.url_to_fs(uri, **_storage_options())
        if fs.isdir(path):
            fs.get(path.rstrip("/") + "/", str(dest), recursive=True)
        elif fs.isfile(path):
            fs.get_file(path, str(dest))
        else:
            raise ImportFailed(f"nothing to import at {uri}: no such file or folder")
    except ImportFailed:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise ImportFailed(f"cannot fetch {uri}: {exc}") from None
    return dest


# --------------------------------------------------------------------------- model versions


def resolve_model_version(
    store: str,
    name: str,
    *,
    stage: str | None = None,
    version: int | None = None,
    artifact: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(version, artifact) of the registered model `name` in the store, read now."""
    from portaflow.models import read_model_versions

    try:
        versions = read_model_versions(store, name)
    except Exception as exc:  # an unreachable store: its own message
        raise ImportFailed(
            f"cannot read the registry of model {name!r} in {store}: {exc}"
        ) from None
    if not versions:
        raise ImportFailed(f"no model {name!r} in the store {store} (see `portaflow models list`)")
    if version is not None:
        found = [v for v in versions if v["version"] == version]
        what = f"version {version}"
    elif stage is not None:
        found = [v for v in versions if v["stage"] == stage][-1:]
        what = f"version in stage {stage!r}"
    else:
        found, what = versions[-1:], "version"
    if not found:
        known = ", ".join(f"{v['version']} ({v['stage'] or 'no stage'})" for v in versions)
        raise ImportFailed(
            f"model {name!r} has no {what} (its versions: {known}); set a stage with "
            f"`portaflow models promote {name} VERSION --stage {stage or 'production'}`"
        )
    chosen = found[0]
    arts = [a for a in chosen["artifacts"] if isinstance(a, dict)]
    if artifact is not None:
        picked = [a for a in arts if a.get("name") == artifact]
        picked = picked or [
            a for a in arts if str(a.get("name", "")).rsplit(".", 1)[-1] == artifact
        ]
    else:
        picked = [a for a in arts if str(a.get("name", "")).rsplit(".", 1)[-1] == "model"]
        picked = picked or (arts if len(arts) == 1 else [])
    if len(picked) != 1:
        names = ", ".join(str(a.get("name")) for a in arts) or "none"
        raise ImportFailed(
            f"model {name!r} version {chosen['version']} has artifacts {names}; name the one to "
            'use: model_version(..., artifact="task.output")'
        )
    return chosen, picked[0]


def _model_store() -> str:
    store = os.environ.get("PORTAFLOW_REGISTRY_URI") or os.environ.get("PORTAFLOW_STORE_URI")
    if not store:
        raise ImportFailed(
            "model_version(...) reads the model registry of the store, and no store is set "
            "(PORTAFLOW_STORE_URI: give the stack a `store` URL)"
        )
    return store


# --------------------------------------------------------------------------- task functions


def _import_task(
    uri: str,
    type: str = "any",
    metadata: dict[str, Any] | None = None,
    fetched: str | None = None,
) -> Annotated[Any, "artifact"]:
    """The task an `importer(...)` call becomes: its output is the artifact at `uri`.

    `fetched` is where the engine already put it (Argo's input artifact of an https/gs URI).
    """
    return Imported(uri=uri, type=type, metadata=metadata or {}, fetched=fetched)


def _model_version_task(
    name: str,
    stage: str | None = None,
    version: int | None = None,
    artifact: str | None = None,
) -> Annotated[Any, "model"]:
    """The task a `model_version(...)` call becomes: the model artifact of that version."""
    store = _model_store()
    chosen, art = resolve_model_version(
        store, name, stage=stage, version=version, artifact=artifact
    )
    location = art.get("store_uri") or art.get("uri")
    if not isinstance(location, str):
        raise ImportFailed(f"model {name!r} version {chosen['version']}: its artifact has no uri")
    return Imported(
        uri=location,
        type=str(art.get("type") or "any"),
        metadata={
            "model": name,
            "version": chosen["version"],
            "stage": chosen["stage"],
            "artifact": art.get("name"),
        },
        expect_sha256=art.get("sha256"),
    )


class ImportStep:
    """A DSL function that is also a task: calling it loads the value; `.func` is the task."""

    def __init__(self, name: str, func: Any, task: Any) -> None:
        self.__name__ = name
        self.__doc__ = func.__doc__
        self._call = func
        #: What `python -m portaflow.task --step portaflow.imports:NAME` runs.
        self.func = task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)


def _load_imported(item: Imported) -> Any:
    with tempfile.TemporaryDirectory(prefix="portaflow-import-") as scratch:
        target = Path(scratch) / "artifact"
        item.write(target)
        value = load_artifact(target)
        if isinstance(value, Path):  # the folder goes away: give a copy that stays
            keep = Path(tempfile.mkdtemp(prefix="portaflow-import-")) / value.name
            (shutil.copytree if value.is_dir() else shutil.copyfile)(value, keep)
            return keep
        return value


def _type_name(tp: Any) -> str:
    if isinstance(tp, str):
        return tp
    if tp is bytes:
        return "bytes"
    module = getattr(tp, "__module__", "")
    qual = getattr(tp, "__qualname__", repr(tp))
    if module == "pathlib" or (isinstance(tp, type) and issubclass(tp, os.PathLike)):
        return "pathlib.Path"
    if module.startswith("pandas") and qual in ("DataFrame", "Series"):
        return f"pandas.{qual}"
    return f"{module}.{qual}" if module and module != "builtins" else qual


def _importer(uri: str, type: Any = Path, metadata: Mapping[str, Any] | None = None) -> Any:
    """The value of the existing artifact at `uri` (a path or URL), loaded as `type`.

    In a pipeline body this is a task whose output is that artifact; `uri` is a
    string literal or a `str` parameter, `metadata` a dict literal recorded with it.
    """
    return _load_imported(Imported(uri=uri, type=_type_name(type), metadata=dict(metadata or {})))


def _model_version(
    name: str,
    *,
    stage: str | None = None,
    version: int | None = None,
    artifact: str | None = None,
) -> Any:
    """The model artifact of a registered version of `name`: by `stage` or `version` (else the latest).

    Reads the registry of the store named by env PORTAFLOW_STORE_URI.
    """
    return _load_imported(_model_version_task(name, stage, version, artifact))


importer = ImportStep("importer", _importer, _import_task)
model_version = ImportStep("model_version", _model_version, _model_version_task)
