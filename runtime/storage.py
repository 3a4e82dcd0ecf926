"""The store: a folder or any fsspec URL holding immutable records and artifacts (docs/stores.md).

A store location is a plain path (the embedded default: pathlib and `os`, no
fsspec) or a URL (`s3://bucket/prefix`, `gs://`, `az://`, `file://`,
`memory://`) reached through fsspec, imported only here and only when such a
location is opened. Layout under the location:

    records/<run>/run.json                 the run as started (pipeline, params, IR)
    records/<run>/task-<key>-a<N>.json     one per finished task attempt
    records/<run>/status-<ms>-<id>.json    a run's status change; the latest wins
    registry/<model>/version-<run>.json    a model version registered by a run
    registry/<model>/promote-<ms>-<id>.json  a promotion; applied in (time, name) order
    cache/<cache key>/<run>--<key>-a<N>.json  a copy of a succeeded task record, by cache key
    artifacts/<run>/<key>/<output>/        an artifact directory, its sidecar written last

Every record is written once and never rewritten: a local folder writes a
temporary file and hard-links it to its name (the link fails when the name
exists, so it is a put-if-absent); an object store writes the object in one PUT
(readers see all of it or nothing), after checking the name is free. A record
is an envelope carrying the sha256 of its body, so a record cut short by any
storage that is not atomic is rejected by every reader (`decode_record`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "Location",
    "StoreLocationError",
    "decode_record",
    "encode_record",
    "is_url",
    "open_location",
    "record_stamp",
    "safe_part",
]

#: Version of the record envelope.
RECORD_SCHEMA = 1
#: The sidecar that completes an artifact directory (materializers.SIDECAR, kept in step).
_SIDECAR = "portaflow-artifact.json"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class StoreLocationError(Exception):
    """A store location that cannot be used; the message says what to do."""


def is_url(text: str) -> bool:
    """Whether a store location is a URL (fsspec) rather than a plain path."""
    return bool(_URL.match(text))


def safe_part(text: str) -> str:
    """One path component from a run id, execution key or model name; reversible enough to read."""
    out = re.sub(r"[^A-Za-z0-9._=@+-]", lambda m: f"%{ord(m.group()):02X}", text)
    return out if out not in ("", ".", "..") else out.replace(".", "%2E") or "%00"


def record_stamp() -> str:
    """`<13-digit ms>-<8 hex>`: names of appended records sort by time, then by chance."""
    return f"{int(time.time() * 1000):013d}-{secrets.token_hex(4)}"


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode_record(kind: str, body: dict[str, Any]) -> bytes:
    """The bytes of one record: its kind, body, and the sha256 of the body's canonical JSON."""
    text = _canonical(body)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    envelope = {"portaflow_record": RECORD_SCHEMA, "kind": kind, "sha256": digest, "body": body}
    return (_canonical(envelope) + "\n").encode("utf-8")


def decode_record(data: bytes | None) -> tuple[str, dict[str, Any]] | None:
    """(kind, body) of a complete record; None for anything cut short, altered or foreign."""
    if data is None:
        return None
    try:
        envelope = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(envelope, dict) or envelope.get("portaflow_record") != RECORD_SCHEMA:
        return None
    body, kind = envelope.get("body"), envelope.get("kind")
    if not isinstance(body, dict) or not isinstance(kind, str):
        return None
    digest = hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()
    if digest != envelope.get("sha256"):
        return None
    return kind, body


class Location:
    """A store location: a local folder, or an fsspec file system and the path of its root."""

    def __init__(self, uri: str, root: str, fs: Any = None) -> None:
        #: As configured: a path or a URL.
        self.uri = uri
        #: The root: a local absolute path, or the fsspec path (no protocol) under `fs`.
        self.root = root
        #: The fsspec file system; None for a plain local folder.
        self.fs = fs

    @property
    def is_local(self) -> bool:
        return self.fs is None

    def full(self, rel: str) -> str:
        """The URI of `rel` (a local path for a folder)."""
        if self.fs is None:
            return str(Path(self.root, rel))
        return f"{self.uri.rstrip('/')}/{rel}"

    def _path(self, rel: str) -> str:
        return (
            f"{self.root.rstrip('/')}/{rel}" if self.fs is not None else str(Path(self.root, rel))
        )

    # ------------------------------------------------------------- records

    def put_if_absent(self, rel: str, data: bytes) -> bool:
        """Create `rel` holding `data`, whole or not at all; False when it already exists."""
        if self.fs is None:
            return _link_into_place(Path(self.root, rel), data)
        path = self._path(rel)
        if "s3" in _protocols(self.fs):
            # A conditional PUT (If-None-Match: *): S3 itself refuses a second writer.
            try:
                self.fs.pipe_file(path, data, IfNoneMatch="*")
            except FileExistsError:
                return False
            return True
        if self.fs.exists(path):
            return False
        self.fs.pipe_file(path, data)
        return True

    def read(self, rel: str) -> bytes | None:
        """The bytes of `rel`; None when it does not exist."""
        try:
            if self.fs is None:
                return Path(self.root, rel).read_bytes()
            return bytes(self.fs.cat_file(self._path(rel)))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def list(self, prefix: str) -> list[str]:
        """Relative names of every file under the folder `prefix`, sorted."""
        names: list[str] = []
        if self.fs is None:
            base = Path(self.root, prefix)
            for dirpath, _dirs, files in os.walk(base):
                rel_dir = Path(dirpath).relative_to(self.root).as_posix()
                names += [f"{rel_dir}/{f}" for f in files if not f.startswith(".")]
            return sorted(names)
        base_path = self._path(prefix).rstrip("/")
        self.fs.invalidate_cache(base_path)  # other machines write here: never a cached listing
        try:
            found = self.fs.find(base_path)
        except FileNotFoundError:
            return []
        root = self.root.rstrip("/") + "/"
        for p in found:
            p = str(p)
            if p.startswith(root) and not p.rsplit("/", 1)[-1].startswith("."):
                names.append(p[len(root) :])
        return sorted(names)

    # ------------------------------------------------------------- artifacts

    def upload_dir(self, local: Path, rel: str) -> str:
        """Copy the artifact directory `local` to `rel`, its sidecar last; returns its URI.

        The sidecar completes an artifact: a reader that finds the data files
        without it sees no artifact, so an upload cut short is never read.
        """
        if self.fs is None:
            target = Path(self.root, rel)
            if target.resolve() != Path(local).resolve():
                from portaflow._atomic import atomic_dir

                with atomic_dir(target) as tmp:
                    _copy_tree(Path(local), tmp)
            return str(target)
        dest = self._path(rel).rstrip("/")
        files = sorted(
            p.relative_to(local).as_posix() for p in Path(local).rglob("*") if p.is_file()
        )
        for name in [f for f in files if f != _SIDECAR] + [_SIDECAR]:
            self.fs.put_file(str(Path(local, name)), f"{dest}/{name}")
        return self.full(rel)

    def save_artifact(self, obj: Any, rel: str) -> tuple[str, Any]:
        """Save `obj` as the artifact `rel` of this store; (its URI, its `ArtifactInfo`).

        A folder saves it in place (atomically). An object store gets each data
        file streamed into its upload as the materializer writes it, hashed on
        the way, and the sidecar last (the artifact exists only once the sidecar
        does); a value whose materializer writes only to a folder is saved to a
        temporary one and copied with `upload_dir`.
        """
        from portaflow import materializers as m

        if self.fs is None:
            return self.full(rel), m.save_artifact(obj, Path(self.root, rel))
        dest = self._path(rel).rstrip("/")
        uri = self.full(rel)
        # A sidecar left by an earlier write goes first: data and sidecar never mix.
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(f"{dest}/{_SIDECAR}")
        info = m.stream_artifact(
            obj,
            lambda name: self.fs.open(f"{dest}/{name}", "wb"),
            lambda data: self.fs.pipe_file(f"{dest}/{_SIDECAR}", data),
            uri,
        )
        if info is None:
            with tempfile.TemporaryDirectory(prefix="portaflow-save-") as tmp:
                info = m.save_artifact(obj, Path(tmp, "artifact"))
                self.upload_dir(Path(tmp, "artifact"), rel)
        return uri, info

    def load_artifact(self, uri: str, *, workdir: Path | None = None) -> Any:
        """The value of the artifact at `uri` (under this store), verified against its sha256.

        From an object store, the data files are read once, into memory, and
        parsed from the bytes that were checked; an artifact that must be on
        disk to load (a user materializer, a path, or one larger than a quarter
        of memory) is first copied into a new folder under `workdir` (default:
        the temporary folder), which the caller owns.
        """
        from portaflow import materializers as m

        if self.fs is None:
            folder = Path(uri).resolve()
            if not folder.is_relative_to(Path(self.root)):
                raise StoreLocationError(f"{uri} is not under the store {self.uri}")
            return m.load_artifact(folder)
        src = self._remote(uri)
        try:
            sidecar: bytes | None = bytes(self.fs.cat_file(f"{src}/{_SIDECAR}"))
        except FileNotFoundError:
            sidecar = None
        found = m.load_streamed(sidecar, lambda name: self.fs.cat_file(f"{src}/{name}"), uri)
        if found is not None:
            return found[0]
        local = Path(tempfile.mkdtemp(prefix="portaflow-load-", dir=workdir))
        self.download_dir(uri, local)
        return m.load_artifact(local)

    def _remote(self, uri: str) -> str:
        """The fsspec path of `uri`, which must be under this store."""
        prefix = self.uri.rstrip("/") + "/"
        if not uri.startswith(prefix):
            raise StoreLocationError(f"{uri} is not under the store {self.uri}")
        return self._path(uri[len(prefix) :]).rstrip("/")

    def download_dir(self, uri: str, local: Path) -> None:
        """Copy the artifact directory at `uri` (under this location) into the empty `local`."""
        if self.fs is None:
            folder = Path(uri).resolve()
            if not folder.is_relative_to(Path(self.root)):
                raise StoreLocationError(f"{uri} is not under the store {self.uri}")
            _copy_tree(folder, local)
            return
        src = self._remote(uri)
        for p in self.fs.find(src):
            rel = str(p)[len(src) + 1 :]
            target = Path(local, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(str(p), str(target))


def _copy_tree(src: Path, dest: Path) -> None:
    import shutil

    for p in sorted(src.rglob("*")):
        target = dest / p.relative_to(src)
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)


def _link_into_place(target: Path, data: bytes) -> bool:
    """Write a temporary sibling, flush it, and hard-link it to `target`: a put-if-absent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return False
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        try:
            os.link(tmp_name, target)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: rename, which cannot refuse
            if target.exists():
                return False
            os.replace(tmp_name, target)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _storage_options() -> dict[str, Any]:
    """fsspec options from env PORTAFLOW_STORE_OPTIONS (JSON): endpoints, never secrets in manifests."""
    text = os.environ.get("PORTAFLOW_STORE_OPTIONS", "")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StoreLocationError(f"PORTAFLOW_STORE_OPTIONS is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise StoreLocationError("PORTAFLOW_STORE_OPTIONS must be a JSON object")
    return value


def open_location(uri: str | os.PathLike[str]) -> Location:
    """The store at a path or URL; a URL needs fsspec (and s3fs / gcsfs / adlfs for its scheme)."""
    text = os.fspath(uri)
    if not is_url(text):
        return Location(text, str(Path(text).expanduser().resolve()))
    try:
        import fsspec  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise StoreLocationError(
            f"the store {text} is a URL, which needs the Python package 'fsspec' (and s3fs for "
            "s3://, gcsfs for gs://, adlfs for az://): pip install 'portaflow[store]'"
        ) from None
    try:
        fs, root = fsspec.core.url_to_fs(text, **_storage_options())
    except ImportError as exc:
        raise StoreLocationError(
            f"the store {text} needs a package fsspec could not import ({exc}); "
            "install it (s3fs for s3://, gcsfs for gs://, adlfs for az://)"
        ) from None
    except ValueError as exc:
        raise StoreLocationError(f"the store {text} is not a usable fsspec URL: {exc}") from None
    if getattr(fs, "protocol", None) in ("file", ("file", "local")) or "file" in _protocols(fs):
        # file:// is a local folder: the same atomic writes as a plain path.
        return Location(text, str(Path(root).resolve()))
    return Location(text, str(root), fs)


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = getattr(fs, "protocol", ())
    return (proto,) if isinstance(proto, str) else tuple(proto)
