"""Store backends for the store tests: the default folder, and a prefix on moto's S3 (s3kit).

A test module sets `STORE_BACKENDS = ("local", "s3")` and its tests that use the
`run`, `store` or `store_backend` fixtures run once per backend (tests/local/conftest.py).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from portaflow.backends.local.store import resolve_store
from portaflow.storage import open_location


def index_dir(project: Path, uri: str | None) -> Path:
    """The folder holding the index database of the store `uri` (None: the default folder)."""
    return resolve_store(project, uri or project / ".portaflow")[0]


def damage_everywhere(uri: str | None, local: Path, store_uri: str | None, damage) -> None:  # type: ignore[no-untyped-def]
    """Apply `damage` to an artifact folder, and to the store's copy of it when there is one."""
    damage(local)
    if uri is None or store_uri is None:
        return
    loc = open_location(uri)
    rel = store_uri[len(uri.rstrip("/")) + 1 :]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy"
        copy.mkdir()
        loc.download_dir(store_uri, copy)
        damage(copy)
        loc.fs.rm(f"{loc.root}/{rel}", recursive=True)
        for p in sorted(copy.rglob("*")):
            if p.is_file():
                loc.fs.put_file(str(p), f"{loc.root}/{rel}/{p.relative_to(copy).as_posix()}")
        shutil.rmtree(copy)
