"""Materializers: how a step's value becomes an artifact directory and back.

An artifact is a directory holding the files a materializer wrote and, written
last, the sidecar `portaflow-artifact.json`:

    {"schema": 1, "type": "pandas.DataFrame", "materializer": "pandas.parquet",
     "sha256": "...", "size": 1234, "files": ["data.parquet"],
     "versions": {"python": "3.11.7", "pandas": "2.2.2", "pyarrow": "16.1.0"}}

A directory without a valid sidecar is not an artifact. `sha256` covers the
data files: it is the sha256 of the text made of one line
`<sha256 of the file>  <relative posix path>\\n` per file, in sorted path order
(the format of `sha256sum`), so it changes when any byte or name changes.

The materializer is chosen from the value's type when saving (user
registrations first, most specific class wins) and from the sidecar when
loading. Built-ins, in order: `bytes` -> "bytes", `pathlib.Path` -> "path" (the
file or folder is copied in), pandas DataFrame/Series -> Parquet, numpy arrays
-> `.npy`, plain JSON values (None, bool, int, float, str, lists and str-keyed
dicts of those, exactly: a tuple or an enum keeps its type through joblib)
-> "json", anything else -> "joblib" (or "pickle"
where joblib is not installed). Optional libraries are imported only when a
value of their type is saved or loaded.

Users add their own:

    @portaflow.materializer(MyType)
    class MyTypeMaterializer:
        def save(self, obj: MyType, dir: Path) -> None: ...
        def load(self, dir: Path) -> MyType: ...

    portaflow.materializer(Other, save=save_other, load=load_other)
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from portaflow._atomic import atomic_dir
from portaflow._hashio import HashingWriter, memory_budget, read_hashed, read_whole
from portaflow._record import python_version
from portaflow._values import canonical_json, describe_type, to_json_value
from portaflow.registry import BUILTIN_NAMES, Materializer, materializer, registrations

__all__ = [
    "SIDECAR",
    "ArtifactInfo",
    "Materializer",
    "MaterializerError",
    "NotAnArtifactError",
    "canonical_json",
    "describe_type",
    "is_artifact",
    "load_artifact",
    "load_artifact_with_info",
    "materializer",
    "read_artifact",
    "save_artifact",
    "select_materializer",
    "to_json_value",
    "verify_artifact",
]

#: File name of the sidecar inside every artifact directory.
SIDECAR = "portaflow-artifact.json"
#: Version of the sidecar layout.
SCHEMA = 1


class MaterializerError(Exception):
    """A value could not be saved or loaded; the message says why and what to do."""


class NotAnArtifactError(MaterializerError):
    """A path is not a complete artifact directory (missing or invalid sidecar)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactInfo:
    """The sidecar of an artifact directory."""

    #: The artifact directory.
    path: Path
    #: Qualified type name of the saved value ("pandas.DataFrame").
    type: str
    #: Name of the materializer that wrote it.
    materializer: str
    #: sha256 over the data files (see the module docstring).
    sha256: str
    #: Total bytes of the data files.
    size: int
    #: Data files, relative posix paths, sorted.
    files: tuple[str, ...]
    #: Python and library versions at save time.
    versions: dict[str, str]
    #: Module to import so that a user materializer is registered, if any.
    materializer_module: str | None = None


# --------------------------------------------------------------------------- helpers

#: Opens a new data file (a relative path in the artifact) that hashes what is written to it.
_Create = Callable[[str], HashingWriter]
#: The data files of an artifact, read once and checked against its sha256: relative path -> bytes.
_Blobs = dict[str, "bytes | bytearray"]

# Built-in materializers may also have, besides `save` and `load` (the protocol users implement):
#   save_streamed(obj, dir, create)  write each data file through `create(rel)`, which hashes the
#                                    bytes on their way to the disk (no second pass to hash them);
#   load_verified(data, dir)         build the value from the data files' bytes, read once (what is
#                                    parsed is exactly what is verified, never the file again);
#   parses_unchecked = True          its format runs no code when read (Parquet, .npy without
#                                    pickle), so the bytes are hashed on a helper thread while they
#                                    are parsed, and the value is returned only once they match;
#                                    without it (pickle, joblib) the bytes are checked first.


def _require(module: str, *, what: str, install: str) -> ModuleType:
    """Import an optional library, or explain how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MaterializerError(
            f"{what} needs the Python package '{install}', which is not installed in this "
            f"environment: add it to the step's image (pip install {install}, or pip install "
            f"'portaflow[ml]' for the usual ML stack)."
        ) from exc


def _read_with_pyarrow(path: Path) -> Any:
    """A file's bytes in a pyarrow buffer: its allocator keeps memory between loads, where a
    fresh bytearray costs a page fault per 4 KiB (half the CPU of reading 1 GiB)."""
    pa = _require("pyarrow", what="Reading Parquet", install="pyarrow")
    with pa.OSFile(str(path)) as fh:
        return fh.read_buffer()


def _module_version(name: str) -> str | None:
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


def _versions(obj: Any, *libs: str) -> dict[str, str]:
    versions = {"python": python_version()}
    top = type(obj).__module__.split(".", 1)[0]
    for lib in (*libs, top):
        if lib == "builtins" or lib in versions:
            continue
        version = _module_version(lib)
        if version is not None:
            versions[lib] = version
    return versions


# --------------------------------------------------------------------------- built-ins


class JsonMaterializer:
    """JSON values as `data.json`."""

    name = "json"

    def save(self, obj: Any, dir: Path) -> None:
        text = json.dumps(to_json_value(obj), ensure_ascii=False)
        (dir / "data.json").write_text(text, encoding="utf-8")

    def load(self, dir: Path) -> Any:
        return json.loads((dir / "data.json").read_text(encoding="utf-8"))

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        text = json.dumps(to_json_value(obj), ensure_ascii=False)
        with create("data.json") as fh:
            fh.write(text.encode("utf-8"))

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        return json.loads(data["data.json"].decode("utf-8"))


class BytesMaterializer:
    """`bytes`/`bytearray` as `data.bin`; loads as `bytes`."""

    name = "bytes"

    def save(self, obj: Any, dir: Path) -> None:
        (dir / "data.bin").write_bytes(bytes(obj))

    def load(self, dir: Path) -> Any:
        return (dir / "data.bin").read_bytes()

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        with create("data.bin") as fh:
            fh.write(obj)

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        return bytes(data["data.bin"])


class PathMaterializer:
    """A file or folder the step produced, copied in; loads as a `Path` inside the artifact."""

    name = "path"

    def save(self, obj: Any, dir: Path) -> None:
        source = Path(obj)
        if source.is_file():
            (dir / "file").mkdir()
            shutil.copyfile(source, dir / "file" / source.name)
        elif source.is_dir():
            shutil.copytree(source, dir / "folder", symlinks=False)
        else:
            raise MaterializerError(
                f"the step returned the path {str(source)!r}, which is neither a file nor a "
                "folder; return the Path of something the step created."
            )

    def load(self, dir: Path) -> Any:
        if (dir / "file").is_dir():
            (entry,) = (dir / "file").iterdir()
            return entry
        folder = dir / "folder"
        folder.mkdir(exist_ok=True)  # an empty folder leaves no data file behind
        return folder


class PandasFrameMaterializer:
    """pandas DataFrame as Parquet (pyarrow)."""

    name = "pandas.parquet"
    parses_unchecked = True
    read_file = staticmethod(_read_with_pyarrow)

    def save(self, obj: Any, dir: Path) -> None:
        _require("pyarrow", what="Saving a pandas DataFrame as Parquet", install="pyarrow")
        obj.to_parquet(dir / "data.parquet", engine="pyarrow")

    def load(self, dir: Path) -> Any:
        pd = _require("pandas", what="Loading a pandas DataFrame", install="pandas")
        _require("pyarrow", what="Reading Parquet", install="pyarrow")
        return pd.read_parquet(dir / "data.parquet", engine="pyarrow")

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        _require("pyarrow", what="Saving a pandas DataFrame as Parquet", install="pyarrow")
        with create("data.parquet") as fh:
            obj.to_parquet(fh, engine="pyarrow")

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        pd = _require("pandas", what="Loading a pandas DataFrame", install="pandas")
        pa = _require("pyarrow", what="Reading Parquet", install="pyarrow")
        return pd.read_parquet(pa.BufferReader(data["data.parquet"]), engine="pyarrow")

    def versions(self, obj: Any) -> dict[str, str]:
        return _versions(obj, "pandas", "pyarrow")


_UNNAMED = "__portaflow_unnamed_series__"


class PandasSeriesMaterializer:
    """pandas Series as a one-column Parquet file."""

    name = "pandas.series.parquet"
    parses_unchecked = True
    read_file = staticmethod(_read_with_pyarrow)

    def save(self, obj: Any, dir: Path) -> None:
        _require("pyarrow", what="Saving a pandas Series as Parquet", install="pyarrow")
        frame = obj.to_frame(name=_UNNAMED if obj.name is None else obj.name)
        frame.to_parquet(dir / "data.parquet", engine="pyarrow")

    def load(self, dir: Path) -> Any:
        pd = _require("pandas", what="Loading a pandas Series", install="pandas")
        _require("pyarrow", what="Reading Parquet", install="pyarrow")
        return self._series(pd.read_parquet(dir / "data.parquet", engine="pyarrow"))

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        _require("pyarrow", what="Saving a pandas Series as Parquet", install="pyarrow")
        frame = obj.to_frame(name=_UNNAMED if obj.name is None else obj.name)
        with create("data.parquet") as fh:
            frame.to_parquet(fh, engine="pyarrow")

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        pd = _require("pandas", what="Loading a pandas Series", install="pandas")
        pa = _require("pyarrow", what="Reading Parquet", install="pyarrow")
        source = pa.BufferReader(data["data.parquet"])
        return self._series(pd.read_parquet(source, engine="pyarrow"))

    @staticmethod
    def _series(frame: Any) -> Any:
        series = frame.iloc[:, 0]
        if series.name == _UNNAMED:
            series.name = None
        return series

    def versions(self, obj: Any) -> dict[str, str]:
        return _versions(obj, "pandas", "pyarrow")


class NumpyMaterializer:
    """numpy arrays (not of Python objects) as `data.npy`, without pickle."""

    name = "numpy.npy"
    parses_unchecked = True

    def save(self, obj: Any, dir: Path) -> None:
        np = _require("numpy", what="Saving a numpy array", install="numpy")
        np.save(dir / "data.npy", obj, allow_pickle=False)

    def load(self, dir: Path) -> Any:
        np = _require("numpy", what="Loading a numpy array", install="numpy")
        return np.load(dir / "data.npy", allow_pickle=False)

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        np = _require("numpy", what="Saving a numpy array", install="numpy")
        with create("data.npy") as fh:
            np.save(fh, obj, allow_pickle=False)

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        np = _require("numpy", what="Loading a numpy array", install="numpy")
        return np.load(io.BytesIO(data["data.npy"]), allow_pickle=False)

    def versions(self, obj: Any) -> dict[str, str]:
        return _versions(obj, "numpy")


def _pickle_error(obj: Any, exc: BaseException) -> MaterializerError:
    return MaterializerError(
        f"a value of type {describe_type(obj)} cannot be pickled ({type(exc).__name__}: {exc}); "
        "return a picklable value (no open files, locks, lambdas or local classes), or register "
        "a materializer for the type with @portaflow.materializer(...)."
    )


class JoblibMaterializer:
    """Any picklable object (scikit-learn models...) with joblib, as `data.joblib`."""

    name = "joblib"

    def save(self, obj: Any, dir: Path) -> None:
        joblib = _require("joblib", what="Saving a Python object with joblib", install="joblib")
        try:
            joblib.dump(obj, dir / "data.joblib")
        except Exception as exc:  # pickling errors come in many types
            raise _pickle_error(obj, exc) from exc

    def load(self, dir: Path) -> Any:
        joblib = _require("joblib", what="Loading a joblib artifact", install="joblib")
        return joblib.load(dir / "data.joblib")

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        joblib = _require("joblib", what="Saving a Python object with joblib", install="joblib")
        with create("data.joblib") as fh:
            try:
                joblib.dump(obj, fh)
            except Exception as exc:  # pickling errors come in many types
                raise _pickle_error(obj, exc) from exc

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        # Unpickles exactly the bytes whose sha256 was checked, never the file again.
        joblib = _require("joblib", what="Loading a joblib artifact", install="joblib")
        return joblib.load(io.BytesIO(data["data.joblib"]))

    def versions(self, obj: Any) -> dict[str, str]:
        return _versions(obj, "joblib")


class PickleMaterializer:
    """Any picklable object with the standard library, as `data.pkl` (when joblib is absent)."""

    name = "pickle"

    def save(self, obj: Any, dir: Path) -> None:
        import pickle

        try:
            data = pickle.dumps(obj, protocol=5)
        except Exception as exc:
            raise _pickle_error(obj, exc) from exc
        (dir / "data.pkl").write_bytes(data)

    def load(self, dir: Path) -> Any:
        import pickle

        return pickle.loads((dir / "data.pkl").read_bytes())

    def save_streamed(self, obj: Any, dir: Path, create: _Create) -> None:
        import pickle

        with create("data.pkl") as fh:
            try:
                pickle.dump(obj, fh, protocol=5)
            except Exception as exc:
                raise _pickle_error(obj, exc) from exc

    def load_verified(self, data: _Blobs, dir: Path) -> Any:
        import pickle

        return pickle.loads(data["data.pkl"])


def _is_plain_ndarray(obj: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and type(obj) is np.ndarray and not obj.dtype.hasobject


def _is_pandas(obj: Any, cls_name: str) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, getattr(pd, cls_name))


_JSON_SCALARS = (type(None), bool, int, float, str)


def _json_round_trips(obj: Any) -> bool:
    """Whether JSON gives back an equal value of the same types (no tuples, enums, numpy scalars)."""
    if type(obj) in _JSON_SCALARS:
        return True
    if type(obj) is list:
        return all(_json_round_trips(x) for x in obj)
    if type(obj) is dict:
        return all(type(k) is str and _json_round_trips(v) for k, v in obj.items())
    return False


def _has_joblib() -> bool:
    import importlib.util

    return importlib.util.find_spec("joblib") is not None


_JOBLIB = JoblibMaterializer()
_PICKLE = PickleMaterializer()

#: Built-in materializers in the order they are tried when saving.
_BUILTINS: tuple[tuple[Callable[[Any], bool], Materializer], ...] = (
    (lambda o: isinstance(o, (bytes, bytearray)), BytesMaterializer()),
    (lambda o: isinstance(o, Path), PathMaterializer()),
    (lambda o: _is_pandas(o, "DataFrame"), PandasFrameMaterializer()),
    (lambda o: _is_pandas(o, "Series"), PandasSeriesMaterializer()),
    (_is_plain_ndarray, NumpyMaterializer()),
    (_json_round_trips, JsonMaterializer()),
)
_BY_NAME: dict[str, Materializer] = {m.name: m for _, m in _BUILTINS} | {
    _JOBLIB.name: _JOBLIB,
    _PICKLE.name: _PICKLE,
}
assert set(_BY_NAME) == BUILTIN_NAMES

# --------------------------------------------------------------------------- selection


def select_materializer(obj: Any) -> Materializer:
    """The materializer that saves `obj`: registered first (most specific class), then built-ins."""
    mro = type(obj).__mro__
    best: tuple[int, Materializer] | None = None
    for reg in registrations():
        if isinstance(obj, reg.type):
            rank = mro.index(reg.type) if reg.type in mro else len(mro)
            if best is None or rank < best[0]:
                best = (rank, reg.materializer)
    if best is not None:
        return best[1]
    for matches, mat in _BUILTINS:
        if matches(obj):
            return mat
    return _JOBLIB if _has_joblib() else _PICKLE


def _materializer_named(name: str, module: str | None) -> Materializer:
    for attempt in range(2):
        for reg in registrations():
            if reg.materializer.name == name:
                return reg.materializer
        if name in _BY_NAME:
            return _BY_NAME[name]
        if attempt == 0 and module:
            try:
                importlib.import_module(module)
            except Exception as exc:
                raise MaterializerError(
                    f"the artifact was written by materializer {name!r} from module {module!r}, "
                    f"which cannot be imported here ({type(exc).__name__}: {exc})."
                ) from exc
    raise MaterializerError(
        f"the artifact was written by materializer {name!r}, which is not registered in this "
        "process: import the module that calls @portaflow.materializer for it from the step's module."
    )


def _materializer_module(mat: Materializer) -> str | None:
    for reg in registrations():
        if reg.materializer is mat:
            return reg.module
    return None


# --------------------------------------------------------------------------- artifacts


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_files(dir: Path) -> list[str]:
    files = []
    for dirpath, _dirnames, filenames in os.walk(dir):
        for name in filenames:
            rel = Path(dirpath, name).relative_to(dir).as_posix()
            if rel != SIDECAR:
                files.append(rel)
    return sorted(files)


def _digest(
    dir: Path, files: list[str], known: dict[str, HashingWriter] | None = None
) -> tuple[str, int]:
    """The artifact's sha256 and size; files hashed as they were written (`known`) are not read."""
    manifest = hashlib.sha256()
    size = 0
    for rel in files:
        path = dir / rel
        on_disk = path.stat().st_size
        writer = (known or {}).get(rel)
        # A file written through a HashingWriter and not touched since: its digest is known.
        file_sha = writer.sha256 if writer and writer.size == on_disk else _hash_file(path)
        manifest.update(f"{file_sha}  {rel}\n".encode())
        size += on_disk
    return manifest.hexdigest(), size


def _builtin(name: str, method: str) -> Any:
    """The built-in materializer `name`'s optional fast-path `method`, if it has one."""
    return getattr(_BY_NAME.get(name), method, None)


def _streamer(mat: Materializer) -> Any:
    """A built-in materializer's `save_streamed` (never a user class's attribute of that name)."""
    return _builtin(mat.name, "save_streamed") if _BY_NAME.get(mat.name) is mat else None


def _save_streamed(
    streamed: Any, obj: Any, dir: Path, open_file: Callable[[str], HashingWriter]
) -> dict[str, HashingWriter]:
    """Run `save_streamed`; the writers it opened, all closed (or aborted when it raised)."""
    written: dict[str, HashingWriter] = {}

    def create(rel: str) -> HashingWriter:
        written[rel] = open_file(rel)
        return written[rel]

    try:
        streamed(obj, dir, create)
    except BaseException:
        for w in written.values():  # the materializer raised: no file is completed
            w.abort()
        raise
    for w in written.values():
        w.close()
    return written


def _describe(
    obj: Any, mat: Materializer, path: Path, files: list[str], sha256: str, size: int
) -> tuple[ArtifactInfo, bytes]:
    """The sidecar of a saved value: as an ArtifactInfo, and as the bytes of the file."""
    get_versions = getattr(mat, "versions", None)
    versions = get_versions(obj) if callable(get_versions) else _versions(obj)
    info = ArtifactInfo(
        path=path,
        type=describe_type(obj),
        materializer=mat.name,
        sha256=sha256,
        size=size,
        files=tuple(files),
        versions=dict(versions),
        materializer_module=_materializer_module(mat),
    )
    sidecar: dict[str, Any] = {
        "schema": SCHEMA,
        "type": info.type,
        "materializer": info.materializer,
        "sha256": info.sha256,
        "size": info.size,
        "files": list(info.files),
        "versions": info.versions,
    }
    if info.materializer_module:
        sidecar["materializer_module"] = info.materializer_module
    return info, (json.dumps(sidecar, indent=2, sort_keys=True) + "\n").encode()


def save_artifact(obj: Any, target: Path, *, using: Materializer | None = None) -> ArtifactInfo:
    """Save `obj` as the artifact directory `target`, atomically; returns its sidecar."""
    target = Path(target)
    mat = using or select_materializer(obj)
    streamed = _streamer(mat)
    with atomic_dir(target) as tmp:
        written: dict[str, HashingWriter] = {}
        if streamed is not None:
            written = _save_streamed(streamed, obj, tmp, lambda rel: HashingWriter(tmp / rel))
        else:
            mat.save(obj, tmp)
        if (tmp / SIDECAR).exists():
            raise MaterializerError(f"materializer {mat.name!r} wrote a file named {SIDECAR}")
        files = _data_files(tmp)
        sha256, size = _digest(tmp, files, written)
        info, sidecar = _describe(obj, mat, target, files, sha256, size)
        # The sidecar is the commit record: written last, inside the temp dir.
        (tmp / SIDECAR).write_bytes(sidecar)
    return info


def stream_artifact(
    obj: Any, open_file: Callable[[str], Any], put_sidecar: Callable[[bytes], None], where: str
) -> ArtifactInfo | None:
    """Save `obj` by streaming each data file into `open_file(rel)` (a writable binary file,
    such as an fsspec multipart upload), hashed on the way, then `put_sidecar(bytes)` last.

    None, and nothing written, when the value's materializer writes only to a folder (a
    user materializer, a path): save it with `save_artifact` and copy the folder.
    """
    mat = select_materializer(obj)
    streamed = _streamer(mat)
    if streamed is None:
        return None
    written = _save_streamed(
        streamed, obj, Path(where), lambda rel: HashingWriter(None, sink=open_file(rel))
    )
    files = sorted(written)
    manifest = "".join(f"{written[rel].sha256}  {rel}\n" for rel in files)
    size = sum(w.size for w in written.values())
    info, sidecar = _describe(obj, mat, Path(where), files, _sha_text(manifest), size)
    put_sidecar(sidecar)
    return info


def _sha_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_artifact(path: Path) -> ArtifactInfo:
    """The sidecar of the artifact directory `path`; NotAnArtifactError if incomplete."""
    path = Path(path)
    if not path.is_dir():
        raise NotAnArtifactError(f"{path} is not an artifact: no such directory")
    try:
        text = (path / SIDECAR).read_bytes()
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise NotAnArtifactError(
            f"{path} is not an artifact: unreadable {SIDECAR} ({exc})"
        ) from exc
    info = _parse_sidecar(text, path, str(path))
    total = 0
    for rel in info.files:
        file = path / rel
        if not file.is_file():
            raise NotAnArtifactError(f"{path} is not an artifact: its data file {rel} is missing")
        total += file.stat().st_size
    if total != info.size:
        raise NotAnArtifactError(
            f"{path} is not an artifact: its data files hold {total} bytes, the sidecar says {info.size}"
        )
    return info


def _parse_sidecar(data: bytes | None, path: Path, where: str) -> ArtifactInfo:
    """The sidecar's content (None: there is none) as an ArtifactInfo, or NotAnArtifactError."""
    if data is None:
        raise NotAnArtifactError(
            f"{where} is not an artifact: it has no {SIDECAR} (an interrupted write, or not "
            "written by portaflow)"
        )
    try:
        raw = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise NotAnArtifactError(
            f"{where} is not an artifact: unreadable {SIDECAR} ({exc})"
        ) from exc
    try:
        files = raw["files"]
        versions = raw["versions"]
        info = ArtifactInfo(
            path=path,
            type=str(raw["type"]),
            materializer=str(raw["materializer"]),
            sha256=str(raw["sha256"]),
            size=int(raw["size"]),
            files=tuple(str(f) for f in files),
            versions={str(k): str(v) for k, v in versions.items()},
            materializer_module=raw.get("materializer_module"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NotAnArtifactError(
            f"{where} is not an artifact: malformed {SIDECAR} ({exc!r})"
        ) from exc
    return info


def is_artifact(path: Path) -> bool:
    """Whether `path` is a complete artifact directory (a sidecar whose files are all there)."""
    try:
        read_artifact(path)
    except NotAnArtifactError:
        return False
    return True


def _changed(path: Path | str) -> NotAnArtifactError:
    return NotAnArtifactError(
        f"{path} changed since it was written: its data files no longer match the sha256 "
        f"in its {SIDECAR}"
    )


def verify_artifact(path: Path) -> ArtifactInfo:
    """`read_artifact`, plus recompute the sha256 of the data files; raises if it differs."""
    info = read_artifact(path)
    _check_digest(info)
    return info


def _check_digest(info: ArtifactInfo) -> None:
    try:
        sha256, _ = _digest(info.path, list(info.files))
    except OSError as exc:
        raise NotAnArtifactError(f"{info.path} cannot be read to check it ({exc})") from exc
    if sha256 != info.sha256:
        raise _changed(info.path)


def _manifest(blobs: _Blobs, shas: dict[str, str]) -> str:
    """The artifact sha256 (module docstring) of files held in memory; `shas` those known."""
    manifest = hashlib.sha256()
    for rel, data in blobs.items():
        file_sha = shas.get(rel) or hashlib.sha256(data).hexdigest()
        manifest.update(f"{file_sha}  {rel}\n".encode())
    return manifest.hexdigest()


#: Reads one data file of an artifact whole: (its bytes, their sha256 when computed on the way).
_Reader = Callable[[str, bool], tuple[Any, "str | None"]]


def _read_local(dir: Path, mat: Any) -> _Reader:
    read_file = getattr(mat, "read_file", None)

    def read(rel: str, hash_now: bool) -> tuple[Any, str | None]:
        if read_file is not None:
            data = read_file(dir / rel)
            return data, hashlib.sha256(data).hexdigest() if hash_now else None
        return read_hashed(dir / rel) if hash_now else (read_whole(dir / rel), None)

    return read


def _load_from_memory(info: ArtifactInfo, read: _Reader, where: str) -> Any:
    """The value built from the data files read once into memory, returned only if they match.

    A format that runs no code when parsed (`parses_unchecked`) is parsed while a
    helper thread hashes the same bytes; any other is hashed first.
    """
    mat = _BY_NAME[info.materializer]
    from_bytes = mat.load_verified  # type: ignore[attr-defined]
    concurrent = bool(getattr(mat, "parses_unchecked", False))
    blobs: _Blobs = {}
    shas: dict[str, str] = {}
    try:
        for rel in info.files:
            blobs[rel], sha = read(rel, not concurrent)
            if sha is not None:
                shas[rel] = sha
    except FileNotFoundError as exc:
        raise NotAnArtifactError(
            f"{where} is not an artifact: a data file is missing ({exc})"
        ) from exc
    except OSError as exc:
        raise NotAnArtifactError(f"{where} cannot be read to check it ({exc})") from exc
    if not concurrent:
        if _manifest(blobs, shas) != info.sha256:
            raise _changed(where)
        return from_bytes(blobs, info.path)
    import threading

    result: list[str] = []
    hasher = threading.Thread(
        target=lambda: result.append(_manifest(blobs, {})), name="portaflow-verify", daemon=True
    )
    hasher.start()  # hashlib releases the GIL: the hash and the parse share the machine
    try:
        value = from_bytes(blobs, info.path)
    except Exception:
        hasher.join()
        if result != [info.sha256]:
            raise _changed(where) from None  # damaged bytes: say so, not what parsing met
        raise
    hasher.join()
    if result != [info.sha256]:
        raise _changed(where)
    return value


def load_streamed(
    sidecar: bytes | None, read_file: Callable[[str], Any], where: str
) -> tuple[Any, ArtifactInfo] | None:
    """Load an artifact kept elsewhere (an object store) from its sidecar's bytes (None: it has
    none) and `read_file(rel)`, which returns a data file's bytes; verified like `load_artifact`.

    None when the artifact cannot be loaded from memory (a user materializer, a path, or
    larger than `memory_budget`): copy the folder here and use `load_artifact`.
    """
    info = _parse_sidecar(sidecar, Path(where), where)
    if _builtin(info.materializer, "load_verified") is None or info.size > memory_budget():
        return None
    value = _load_from_memory(info, lambda rel, _h: (read_file(rel), None), where)
    _warn_on_version_drift(info)
    return value, info


def load_artifact(path: Path, *, verify: bool = True) -> Any:
    """Load the value saved in the artifact directory `path` with the materializer it names.

    With `verify` (the default) the data files are first checked against the
    sidecar's sha256, so a changed or damaged artifact is never loaded
    (NotAnArtifactError). A built-in materializer's files are read into memory
    once, hashed there, and parsed from those same bytes (up to a quarter of
    the machine's memory; above it, the check reads each file and the load
    reads it again).
    """
    return load_artifact_with_info(path, verify=verify)[0]


def load_artifact_with_info(path: Path, *, verify: bool = True) -> tuple[Any, ArtifactInfo]:
    """`load_artifact`, also returning the sidecar it checked."""
    info = read_artifact(path)
    in_memory = _builtin(info.materializer, "load_verified") is not None
    if verify and in_memory and info.size <= memory_budget():
        reader = _read_local(info.path, _BY_NAME[info.materializer])
        value = _load_from_memory(info, reader, str(info.path))
        _warn_on_version_drift(info)
        return value, info
    if verify:
        _check_digest(info)
    mat = _materializer_named(info.materializer, info.materializer_module)
    value = mat.load(info.path)
    _warn_on_version_drift(info)
    return value, info


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _warn_on_version_drift(info: ArtifactInfo) -> None:
    """Unpickling across library versions can silently misbehave; say so on stderr."""
    if info.materializer not in {"joblib", "pickle"}:
        return
    drift = []
    now: str | None
    for lib, saved in sorted(info.versions.items()):
        # After loading, the libraries the object needs are imported: compare with those.
        if lib == "python":  # pickles move between patch releases without trouble
            saved, now = _minor(saved), _minor(python_version())
        else:
            now = _module_version(lib)
        if now is not None and now != saved:
            drift.append(f"{lib} {saved} -> {now}")
    if drift:
        print(
            f"portaflow: warning: {info.path} was pickled with other versions ({', '.join(drift)}); "
            "loading may fail or behave differently.",
            file=sys.stderr,
        )
