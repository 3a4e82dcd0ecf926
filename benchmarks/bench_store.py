"""Issue #11: the store's cost. Not a test; see benchmarks/README.md ("Store").

1. Round trip of a DataFrame (default 1 GiB of float64) through the local store
   -- `save_artifact` (Parquet + sha256 + sidecar, atomically) then
   `load_artifact` (sha256 verified, then read) -- beside plain
   `df.to_parquet(path)` + `pd.read_parquet(path)`. Target: within 1.2x.
2. The same through an S3 store on a loopback moto server, beside plain s3fs
   (`df.to_parquet` / `pd.read_parquet` on s3fs file objects). Target: within 1.2x.
   Two portaflow paths: "streamed" -- `Location.save_artifact` (Parquet streamed
   into the multipart upload, hashed on the way, sidecar last) and
   `Location.load_artifact` (one verified read into memory); and "via a folder"
   -- what a runner or pod does with an artifact it also keeps on disk:
   `save_artifact` to a local folder, `upload_dir`, `download_dir`, `load_artifact`.
3. `portaflow runs list` over 10,000 records in a store folder: from a cold
   index (no database: every record read and indexed) and a warm one (the
   records listed, none read). Each a fresh `portaflow` process.

Rounds alternate plain/portaflow, order flipped each round, after a warm-up.

    python benchmarks/bench_store.py                 # 1 GiB, 3 rounds
    python benchmarks/bench_store.py --quick         # 64 MiB, 1 round
    python benchmarks/bench_store.py --parts local,s3,list --size-mb 256
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _frame(size_mb: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rows = size_mb * (1 << 20) // (8 * 8)
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"c{i}": rng.standard_normal(rows) for i in range(8)})


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _rounds(
    name: str,
    plain: Callable[[], None],
    ours: Callable[[], None],
    rounds: int,
    also: dict[str, Callable[[], None]] | None = None,
) -> tuple[float, float]:
    """Median times of `plain` and `ours` (and of each of `also`), interleaved; prints ratios."""
    fns = [("portaflow", ours), *(also or {}).items()]
    plain()
    for _, fn in fns:  # warm-up: page cache, imports, connections
        fn()
    times: dict[str, list[float]] = {"plain": [], **{label: [] for label, _ in fns}}
    for r in range(rounds):
        order = [("plain", plain), *fns]
        for label, fn in order if r % 2 == 0 else reversed(order):
            times[label].append(_timed(fn))
    p = statistics.median(times["plain"])
    o = statistics.median(times["portaflow"])
    print(f"{name:<28} plain {p:7.2f} s   portaflow {o:7.2f} s   ratio {o / p:5.2f}x", flush=True)
    for label, _ in fns[1:]:
        t = statistics.median(times[label])
        print(
            f"{'  ' + label:<28} {'':13}   portaflow {t:7.2f} s   ratio {t / p:5.2f}x", flush=True
        )
    return p, o


def bench_local(df, work: Path, rounds: int) -> float:  # type: ignore[no-untyped-def]
    import pandas as pd

    from portaflow.materializers import load_artifact, save_artifact

    plain_path = work / "plain.parquet"
    store = work / "store"

    def plain() -> None:
        df.to_parquet(plain_path, engine="pyarrow")
        back = pd.read_parquet(plain_path, engine="pyarrow")
        assert len(back) == len(df)

    def ours() -> None:
        target = store / "artifacts" / "run" / "task" / "output"
        save_artifact(df, target)
        back = load_artifact(target)  # verified against its sha256, then read
        assert len(back) == len(df)

    def ours_without_fsync() -> None:
        # Not a mode portaflow has: what the fsync before the rename costs under this load.
        # Plain to_parquet never waits for the disk (each round overwrites a file the kernel
        # has not written back yet); a durable artifact must be on disk before its rename.
        saved = os.fsync, os.fdatasync
        os.fsync = os.fdatasync = lambda fd: None
        try:
            ours()
        finally:
            os.fsync, os.fdatasync = saved

    p, o = _rounds("local store", plain, ours, rounds, {"same, fsync skipped": ours_without_fsync})
    return o / p


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def bench_s3(df, work: Path, rounds: int) -> float:  # type: ignore[no-untyped-def]
    proc, endpoint = _moto()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
        import pandas as pd
        import s3fs

        from portaflow.materializers import load_artifact, save_artifact
        from portaflow.storage import open_location

        fs = s3fs.S3FileSystem()
        fs.mkdir("bench")
        loc = open_location("s3://bench/store")

        def plain() -> None:
            # Through s3fs (a path string would let pandas pick pyarrow's own S3 client).
            with fs.open("bench/plain/data.parquet", "wb") as fh:
                df.to_parquet(fh, engine="pyarrow")
            with fs.open("bench/plain/data.parquet", "rb") as fh:
                back = pd.read_parquet(fh, engine="pyarrow")
            assert len(back) == len(df)

        def streamed() -> None:
            uri, _info = loc.save_artifact(df, "artifacts/run/task/streamed")
            back = loc.load_artifact(uri)  # one read into memory, verified, then parsed
            assert len(back) == len(df)

        def via_folder() -> None:
            local = work / "s3-out"
            save_artifact(df, local)
            remote = loc.upload_dir(local, "artifacts/run/task/output")
            shutil.rmtree(local)
            fetched = work / "s3-in"
            shutil.rmtree(fetched, ignore_errors=True)
            fetched.mkdir()
            loc.download_dir(remote, fetched)
            back = load_artifact(fetched)  # verified against its sha256, then read
            assert len(back) == len(df)
            shutil.rmtree(fetched)

        p, o = _rounds(
            "S3 store (moto, loopback)", plain, streamed, rounds, {"via a folder": via_folder}
        )
        return o / p
    finally:
        proc.terminate()
        proc.wait(10)


def bench_list(work: Path, records: int, rounds: int) -> None:
    from portaflow.storage import encode_record, open_location

    store = work / "list-store"
    loc = open_location(store)
    runs = records // 4  # run, two tasks, status
    now = time.time()
    for i in range(runs):
        run_id = f"bench-{i:06d}"
        loc.put_if_absent(
            f"records/{run_id}/run.json",
            encode_record(
                "run",
                {
                    "id": run_id,
                    "pipeline": "bench",
                    "source": "pipeline.py",
                    "root": "/",
                    "created": now + i,
                    "params": {"n": i},
                    "options": {},
                    "ir": "{}",
                },
            ),
        )
        for key in ("a", "b"):
            loc.put_if_absent(
                f"records/{run_id}/task-{key}-a1.json",
                encode_record(
                    "task",
                    {
                        "run_id": run_id,
                        "key": key,
                        "task": key,
                        "step": f"steps:{key}",
                        "state": "succeeded",
                        "attempt": 1,
                        "started": now + i,
                        "finished": now + i + 1,
                        "outputs": {"output": {"kind": "parameter", "value": i}},
                        "metrics": {"m": i},
                    },
                ),
            )
        loc.put_if_absent(
            f"records/{run_id}/status-{i:013d}-00000000.json",
            encode_record(
                "status", {"run_id": run_id, "status": "succeeded", "message": None, "ts": now + i}
            ),
        )
    exe = [sys.executable, "-m", "portaflow.compiler.cli"]
    probe = subprocess.run([*exe, "--help"], capture_output=True, check=False)
    if probe.returncode != 0:
        exe = [shutil.which("portaflow") or "portaflow"]
    cmd = [*exe, "runs", "list", "--store", str(store), "--root", str(work)]
    cold, warm = [], []
    for _ in range(rounds):
        for f in store.glob("portaflow.db*"):
            f.unlink()
        cold.append(_timed(lambda: subprocess.run(cmd, capture_output=True, check=True)))
        warm.append(_timed(lambda: subprocess.run(cmd, capture_output=True, check=True)))
    print(
        f"runs list, {runs * 4} records     cold index {statistics.median(cold):6.2f} s"
        f"   warm index {statistics.median(warm):6.2f} s",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--parts", default="local,s3,list")
    ap.add_argument("--quick", action="store_true", help="64 MiB, 1 round, 1000 records")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a 1.2x target is missed")
    args = ap.parse_args()
    if args.quick:
        args.size_mb, args.rounds, args.records = 64, 1, 1000
    parts = set(args.parts.split(","))
    missed = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        work = Path(tmp)
        if parts & {"local", "s3"}:
            df = _frame(args.size_mb)
            print(
                f"DataFrame: {df.shape[0]} rows x {df.shape[1]} float64 columns, "
                f"{df.memory_usage().sum() / (1 << 20):.0f} MiB in memory",
                flush=True,
            )
            if "local" in parts and bench_local(df, work, args.rounds) > 1.2:
                missed.append("local")
            if "s3" in parts and bench_s3(df, work, args.rounds) > 1.2:
                missed.append("s3")
            del df
        if "list" in parts:
            bench_list(work, args.records, args.rounds)
    if missed:
        print(f"missed the 1.2x target: {', '.join(missed)}")
        if args.strict:
            sys.exit(1)


if __name__ == "__main__":
    main()
