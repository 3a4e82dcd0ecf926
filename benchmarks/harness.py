"""Shared plumbing of the benchmark scripts: timed subprocesses, interleaving, tables.

Every measurement is a *fresh process*: wall time from ``time.perf_counter``
around ``Popen``/``wait4`` and peak memory from the ``rusage`` that ``os.wait4``
returns for that one child (``ru_maxrss``, KiB on Linux), so peak memory is
per run, not the running maximum that ``RUSAGE_CHILDREN`` would give.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"
OUT = HERE / "out"


def venv_python(name: str) -> Path:
    """The Python of a peer's venv made by ``benchmarks/setup.sh``."""
    py = VENVS / name / "bin" / "python"
    if not py.exists():
        sys.exit(f"missing {py}: run `bash benchmarks/setup.sh {name}` first")
    return py


def portaflow_cmd() -> list[str]:
    """How to start the ``portaflow`` CLI from the Python running the benchmark."""
    exe = shutil.which("portaflow")
    if exe:
        return [exe]
    return [sys.executable, "-m", "portaflow.compiler.cli"]


class RunFailed(RuntimeError):
    pass


@dataclass
class Sample:
    wall: float  # seconds
    rss_kib: int  # peak resident set size of the process (and its waited-for children)
    cpu: float = 0.0  # user + system CPU seconds of the process and its waited-for children


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 900.0,
) -> Sample:
    """Run ``cmd`` as a fresh process; return its wall time and peak RSS.

    stdout/stderr go to ``log`` (or /dev/null); a non-zero exit raises RunFailed
    with the tail of the log.
    """
    full_env = dict(os.environ)
    # This workplace sets PYTHONDONTWRITEBYTECODE=1; users do not, and pip-installed peers ship
    # their .pyc files while portaflow's editable install would recompile every module in every
    # process. Let every measured process write and reuse .pyc (the warm-up round writes them).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    if env:
        full_env.update(env)
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [os.fspath(c) for c in cmd],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log else ""
        raise RunFailed(f"exit {proc.returncode}: {' '.join(map(str, cmd))}\n{tail}".rstrip())
    return Sample(wall=wall, rss_kib=usage.ru_maxrss, cpu=usage.ru_utime + usage.ru_stime)


@dataclass
class Series:
    """Repeated samples of one (case, tool) pair."""

    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.samples) and self.error is None

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return statistics.median(s.rss_kib for s in self.samples) / 1024


Job = Callable[[], Sample]


def interleave(
    jobs: dict[tuple[str, str], Job],
    repeats: int,
    *,
    warmup: bool = True,
    verbose: bool = True,
    max_repeats: dict[tuple[str, str], int] | None = None,
    no_warmup: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
) -> dict[tuple[str, str], Series]:
    """Run every job ``repeats`` times, round-robin: a, b, c, a, b, c, ...

    Jobs are keyed (case, tool). One untimed warm-up run each fills the OS page
    cache and the .pyc caches. A job that fails is recorded and skipped after.
    The order alternates every repeat so no tool always runs right after another.
    ``max_repeats`` caps the timed runs of slow jobs; ``no_warmup`` skips their warm-up.
    """
    results = {key: Series() for key in jobs}
    keys = list(jobs)
    rounds = ([None] if warmup else []) + list(range(repeats))
    for r in rounds:
        order = keys if (r or 0) % 2 == 0 else list(reversed(keys))
        for key in order:
            series = results[key]
            if series.error:
                continue
            if r is None and key in no_warmup:
                continue
            if r is not None and len(series.samples) >= (max_repeats or {}).get(key, repeats):
                continue
            try:
                sample = jobs[key]()
            except RunFailed as exc:  # keep going: the table says what failed
                series.error = str(exc)
                if verbose:
                    print(f"  ! {key[1]} {key[0]} failed: {str(exc)[:2000]}", file=sys.stderr)
                continue
            if r is not None:
                series.samples.append(sample)
            if verbose:
                tag = "warm-up" if r is None else f"rep {r + 1}/{repeats}"
                print(
                    f"  {tag:>9}  {key[1]:<10} {key[0]:<28} {sample.wall:8.3f} s"
                    f"  cpu {sample.cpu:8.3f} s  {sample.rss_kib / 1024:7.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(c: object) -> str:
    if c is None:
        return "n/a"
    if isinstance(c, float):
        return f"{c:.3f}" if c < 10 else f"{c:.1f}"
    return str(c)


def ratio(peer: Series | None, ours: Series | None, *, cpu: bool = False) -> str:
    """peer / ours, of median wall time (or of median CPU time with ``cpu=True``)."""
    if not peer or not ours or not peer.ok or not ours.ok:
        return "n/a"
    if cpu:
        return f"{peer.cpu / ours.cpu:.1f}x" if ours.cpu > 0 else "n/a"
    return f"{peer.wall / ours.wall:.1f}x"


def load_note() -> str:
    """1-minute load average: other work on this 2-core machine inflates wall times."""
    one, five, _ = os.getloadavg()
    return f"load avg {one:.2f} (1 min) {five:.2f} (5 min)"


@dataclass
class Target:
    name: str
    met: bool | None  # None: could not be measured
    detail: str


def report_targets(targets: list[Target], strict: bool) -> int:
    print("\nTargets:")
    for t in targets:
        mark = {True: "MET   ", False: "MISSED", None: "N/A   "}[t.met]
        print(f"  [{mark}] {t.name}: {t.detail}")
    missed = [t for t in targets if t.met is not True]
    if strict and missed:
        print(f"--strict: {len(missed)} target(s) missed or not measured", file=sys.stderr)
        return 1
    return 0


def common_args(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case and tool (median)")
    p.add_argument("--quick", action="store_true", help="smoke mode: small cases, 1 repeat")
    p.add_argument(
        "--strict", action="store_true", help="exit 1 if a target is missed or unmeasured"
    )
    p.add_argument("--out", type=Path, default=OUT, help="scratch dir (default benchmarks/out)")
    return p


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores{mem}, "
        f"Python {platform.python_version()}"
    )


def git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
