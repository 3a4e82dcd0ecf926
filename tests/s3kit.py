"""A real S3 API for the store tests: moto's server mode on 127.0.0.1, one per test session.

Registered as a plugin by tests/conftest.py. The server starts on a free port
the first time a test asks for `s3_server` (about a second), the process
environment points s3fs at it (AWS_ENDPOINT_URL, dummy keys), and it is stopped
by its PID when the session ends. Each test takes its own prefix of one bucket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

BUCKET = "portaflow-tests"


@dataclass(frozen=True)
class S3Server:
    """A running moto server."""

    endpoint: str
    pid: int

    def env(self) -> dict[str, str]:
        """What a process needs to reach this server through s3fs / botocore."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def fresh_prefix(self) -> str:
        """A store URL no other test uses."""
        return f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_s3fs() -> None:
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            raise  # under CI the [test] extra installs them: a missing one is a failure
        pytest.skip(f"the S3 store tests need moto[server] and s3fs ({exc})")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    _require_s3fs()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(endpoint=f"http://127.0.0.1:{port}", pid=proc.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.05)
        with pytest.MonkeyPatch.context() as mp:
            for k, v in server.env().items():
                mp.setenv(k, v)
            import s3fs

            s3fs.S3FileSystem.clear_instance_cache()
            s3fs.S3FileSystem().mkdir(BUCKET)
            yield server
            s3fs.S3FileSystem.clear_instance_cache()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def s3_store(s3_server: S3Server) -> str:
    """A fresh store URL on the session's moto server."""
    return s3_server.fresh_prefix()
