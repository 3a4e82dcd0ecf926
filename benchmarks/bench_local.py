"""Issue #3: local runs -- `portaflow run` beside ZenML's local orchestrator and kfp.local.

Three parts, each selectable with ``--parts``:

``overhead``  A 10-step and a 100-step chain of trivial steps (int in, int out,
              caching off), run interleaved, as fresh whole processes, by
              * portaflow: ``portaflow run pipeline.py`` (system Python);
              * zenml:     ``.venvs/zenml/bin/python zenml_pipeline.py`` in a
                           directory set up once (untimed) with ``zenml init``,
                           default stack, analytics off, its own config dir;
              * kfp.local: ``.venvs/kfp/bin/python kfp_pipeline.py ROOT``, which
                           runs the pipeline with ``kfp.local`` and
                           ``SubprocessRunner(use_venv=False)``.
              Bare start = a process that only imports the tool
              (``python -c "import portaflow"``, ``import zenml``,
              ``from kfp import dsl, local``).
              Per-task overhead = (wall - bare start) / steps; the marginal
              cost per task, (wall(100) - wall(10)) / 90, is printed beside it.
``parallel``  8 independent steps that each sleep 1 s, ``portaflow run
              --workers W`` for W in 1, 2, 4, 8 (ideal: 8/W s).
``artifact``  A ~1 GB DataFrame (numpy random floats) saved and loaded through
              ``portaflow.materializers.save_artifact`` / ``load_artifact``
              beside plain ``pyarrow.parquet`` write/read of the same frame, in
              this process, alternating.

    python benchmarks/bench_local.py [--repeats 3] [--quick] [--strict] [--parts overhead,parallel,artifact]
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import harness as h
import pipelines as pl

TARGET_ZENML = 10.0  # zenml / portaflow wall time, 10-step chain
TARGET_TASK = 2.0  # per-task overhead / bare `python -c "import portaflow"`
WORKERS = (1, 2, 4, 8)

ZENML_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_LOGGING_COLORS_DISABLED": "true",
    "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
    "ZENML_AUTO_OPEN_DASHBOARD": "false",
    "AUTO_OPEN_DASHBOARD": "false",
    "ZENML_DISABLE_PIPELINE_LOGS_STORAGE": "true",
}


def zenml_env(base: Path) -> dict[str, str]:
    return {**ZENML_ENV, "ZENML_CONFIG_PATH": str(base / ".zenml-config")}


# --------------------------------------------------------------------------- overhead


def overhead(args, repeats: int, targets: list[h.Target]) -> None:
    work = args.out / "local"
    sizes = (10,) if args.quick else (10, 100)
    pf = h.portaflow_cmd()
    zen_py = h.venv_python("zenml")
    kfp_py = h.venv_python("kfp")

    zdir = work / "zenml"
    zenv = zenml_env(zdir)
    if not (zdir / ".zen").exists():
        zdir.mkdir(parents=True, exist_ok=True)
        print("zenml init (untimed, once) ...", file=sys.stderr, flush=True)
        h.run([zen_py.parent / "zenml", "init"], cwd=zdir, env=zenv, log=zdir / "init.log")

    jobs: dict[tuple[str, str], h.Job] = {}
    slow: dict[tuple[str, str], int] = {}
    cold: set[tuple[str, str]] = set()
    for n in sizes:
        shape = pl.Shape("chain", n)
        d = work / shape.slug
        pl.write(d / "pipeline.py", pl.portaflow_source(shape, cache=False))
        pl.write_project(d)
        pl.write(d / "kfp_pipeline.py", pl.kfp_source(shape, mode="local"))
        zfile = zdir / f"zenml_{shape.slug}.py"
        pl.write(zfile, pl.zenml_source(shape))

        def pf_job(d: Path = d) -> h.Sample:
            return h.run([*pf, "run", "pipeline.py"], cwd=d, log=d / "portaflow.log")

        def zen_job(f: Path = zfile, n: int = n) -> h.Sample:
            return h.run([zen_py, f], cwd=zdir, env=zenv, log=zdir / f"run_{n}.log")

        def kfp_job(d: Path = d) -> h.Sample:
            root = d / "kfp-root"
            shutil.rmtree(root, ignore_errors=True)
            return h.run([kfp_py, "kfp_pipeline.py", root], cwd=d, log=d / "kfp.log")

        jobs[(shape.label, "portaflow")] = pf_job
        jobs[(shape.label, "zenml")] = zen_job
        jobs[(shape.label, "kfp.local")] = kfp_job
        if n >= 100:  # ZenML takes minutes for 100 steps here
            slow[(shape.label, "zenml")] = min(repeats, args.slow_repeats)
            cold.add((shape.label, "zenml"))

    bare = {
        "portaflow": [sys.executable, "-c", "import portaflow"],
        "zenml": [zen_py, "-c", "import zenml"],
        "kfp.local": [kfp_py, "-c", "from kfp import dsl, local"],
    }
    for tool, cmd in bare.items():
        jobs[("bare start", tool)] = lambda cmd=cmd, tool=tool: h.run(
            cmd, cwd=zdir if tool == "zenml" else None, env=zenv if tool == "zenml" else None
        )

    print(f"\n== overhead ({repeats} repeat(s))", flush=True)
    res = h.interleave(jobs, repeats, max_repeats=slow, no_warmup=cold)
    print(f"after the runs: {h.load_note()}")

    tools = ("portaflow", "zenml", "kfp.local")
    rows = []
    per_task: dict[tuple[str, int], float] = {}
    for n in sizes:
        label = pl.Shape("chain", n).label
        for tool in tools:
            s, b = res[(label, tool)], res[("bare start", tool)]
            pt = (s.wall - b.wall) / n if s.ok and b.ok else None
            if pt is not None:
                per_task[(tool, n)] = pt
            rows.append(
                [
                    label,
                    tool,
                    s.wall if s.ok else None,
                    s.cpu if s.ok else None,
                    s.rss_mib if s.ok else None,
                    len(s.samples),
                    b.wall if b.ok else None,
                    pt,
                    h.ratio(s, res[(label, "portaflow")]) if tool != "portaflow" else "1.0x",
                ]
            )
    print()
    print(
        h.table(
            [
                "pipeline",
                "tool",
                "wall s",
                "cpu s",
                "peak MiB",
                "runs",
                "bare start s",
                "per-task s",
                "tool/portaflow",
            ],
            rows,
        )
    )
    if len(sizes) > 1:
        print("\nMarginal cost per task, (wall(100) - wall(10)) / 90:")
        for tool in tools:
            a, b = res[("chain-10", tool)], res[("chain-100", tool)]
            if a.ok and b.ok:
                print(f"  {tool:<10} {(b.wall - a.wall) / 90:.3f} s")
    for (label, tool), s in res.items():
        if s.error:
            print(f"\n{tool} {label}: FAILED: {s.error[:1500]}")

    p10, z10 = res[("chain-10", "portaflow")], res[("chain-10", "zenml")]
    name = f"chain-10: >= {TARGET_ZENML:g}x less wall time than ZenML"
    if p10.ok and z10.ok:
        r = z10.wall / p10.wall
        targets.append(h.Target(name, r >= TARGET_ZENML, f"{r:.1f}x"))
    else:
        targets.append(h.Target(name, None, "not measured"))
    b = res[("bare start", "portaflow")]
    for n in sizes:
        name = f"chain-{n}: per-task overhead <= {TARGET_TASK:g}x bare `import portaflow` start"
        if ("portaflow", n) in per_task and b.ok:
            pt = per_task[("portaflow", n)]
            targets.append(
                h.Target(
                    name,
                    pt <= TARGET_TASK * b.wall,
                    f"{pt:.3f} s/task vs {b.wall:.3f} s start ({pt / b.wall:.2f}x)",
                )
            )
        else:
            targets.append(h.Target(name, None, "not measured"))


# --------------------------------------------------------------------------- parallel


def parallel(args, repeats: int, targets: list[h.Target]) -> None:
    work = args.out / "local" / "parallel"
    shape = pl.Shape("sleep", 8, seconds=1.0)
    pl.write(work / "pipeline.py", pl.portaflow_source(shape, cache=False))
    pl.write_project(work)
    pf = h.portaflow_cmd()
    workers = (1, 8) if args.quick else WORKERS
    jobs: dict[tuple[str, str], h.Job] = {}
    for w in workers:
        jobs[(f"sleep-8 --workers {w}", "portaflow")] = lambda w=w: h.run(
            [*pf, "run", "pipeline.py", "--workers", str(w)], cwd=work, log=work / f"w{w}.log"
        )
    print(f"\n== parallel ({repeats} repeat(s))", flush=True)
    res = h.interleave(jobs, repeats, warmup=False)
    rows = []
    for w in workers:
        s = res[(f"sleep-8 --workers {w}", "portaflow")]
        ideal = 8 / w
        rows.append(
            [
                w,
                s.wall if s.ok else None,
                s.cpu if s.ok else None,
                ideal,
                (s.wall - ideal) if s.ok else None,
            ]
        )
        # "about 8/W seconds": allow 25% plus one second of start-up.
        limit = ideal * 1.25 + 1.0
        targets.append(
            h.Target(
                f"8 x sleep(1) with --workers {w} in about {ideal:g} s (<= {limit:.2f} s)",
                (s.wall <= limit) if s.ok else None,
                f"{s.wall:.2f} s" if s.ok else "not measured",
            )
        )
    print()
    print(h.table(["workers", "wall s", "cpu s", "ideal 8/W s", "excess s"], rows))
    for (label, _), s in res.items():
        if s.error:
            print(f"\n{label}: FAILED: {s.error[:1500]}")


# --------------------------------------------------------------------------- artifact


def artifact(args, repeats: int, targets: list[h.Target]) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        from portaflow import materializers as m
    except ImportError as exc:  # the materializer is another engineer's work
        print(f"\n== artifact: portaflow.materializers not importable ({exc})")
        targets.append(h.Target("artifact round trip", None, "materializer missing"))
        return

    gb = 0.1 if args.quick else args.artifact_gb
    cols = 16
    rows = int(gb * 1e9 / 8 / cols)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"c{i}": rng.random(rows) for i in range(cols)})
    nbytes = int(df.memory_usage(index=False, deep=True).sum())
    work = args.out / "local" / "artifact"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(
        f"\n== artifact: DataFrame {rows:,} x {cols} float64 = {nbytes / 1e9:.2f} GB in memory,"
        f" {repeats} repeat(s)",
        flush=True,
    )

    def pa_write(p: Path) -> None:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=True), p)

    def pa_read(p: Path):
        return pq.read_table(p).to_pandas()

    def pf_write(p: Path) -> None:
        m.save_artifact(df, p)

    def pf_read(p: Path):
        return m.load_artifact(p)

    impls = {
        "pyarrow.parquet": (pa_write, pa_read, "f.parquet"),
        "portaflow": (pf_write, pf_read, "art"),
    }
    times: dict[str, dict[str, list[float]]] = {k: {"write": [], "read": []} for k in impls}
    sizes: dict[str, int] = {}
    for r in [None, *range(repeats)]:  # None: an untimed warm-up round
        order = list(impls) if (r or 0) % 2 == 0 else list(reversed(impls))
        for name in order:
            write, read, fname = impls[name]
            p = work / f"{r}-{fname}"
            gc.collect()
            t0 = time.perf_counter()
            write(p)
            t1 = time.perf_counter()
            back = read(p)
            t2 = time.perf_counter()
            if r is None:
                assert back.shape == df.shape, (name, back.shape)
                sizes[name] = sum(
                    f.stat().st_size for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()
                )
            del back
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            tag = "warm-up" if r is None else f"rep {r + 1}/{repeats}"
            print(
                f"  {tag:>9}  {name:<16} write {t1 - t0:6.2f} s  read {t2 - t1:6.2f} s",
                file=sys.stderr,
                flush=True,
            )
            if r is None:
                continue
            times[name]["write"].append(t1 - t0)
            times[name]["read"].append(t2 - t1)
    rows = []
    med = {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in times.items()}
    for name in impls:
        w, rd = med[name]["write"], med[name]["read"]
        rows.append(
            [
                name,
                w,
                nbytes / 1e9 / w,
                rd,
                nbytes / 1e9 / rd,
                w + rd,
                nbytes / 1e9 / (w + rd),
                f"{sizes.get(name, 0) / 1e9:.2f}",
            ]
        )
    print()
    print(
        h.table(
            [
                "",
                "write s",
                "write GB/s",
                "read s",
                "read GB/s",
                "round trip s",
                "round trip GB/s",
                "on disk GB",
            ],
            rows,
        )
    )
    rt = {k: med[k]["write"] + med[k]["read"] for k in med}
    print(
        f"\nportaflow round trip / pyarrow round trip: {rt['portaflow'] / rt['pyarrow.parquet']:.2f}x time"
    )
    targets.append(
        h.Target(
            "1 GB artifact round trip throughput reported beside pyarrow (no numeric target)",
            True,
            f"{nbytes / 1e9 / rt['portaflow']:.2f} GB/s vs {nbytes / 1e9 / rt['pyarrow.parquet']:.2f} GB/s",
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = h.common_args(__doc__.split("\n")[0])
    ap.set_defaults(repeats=3)
    ap.add_argument("--parts", default="overhead,parallel,artifact", help="comma-separated subset")
    ap.add_argument(
        "--slow-repeats",
        type=int,
        default=2,
        help="timed runs of ZenML's 100-step chain (minutes each)",
    )
    ap.add_argument("--artifact-gb", type=float, default=1.0, help="in-memory size of the frame")
    args = ap.parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 3 else args.repeats
    print(
        f"bench_local: {h.machine()}, portaflow @ {h.git_rev()}, load avg {os.getloadavg()[0]:.2f}"
    )
    targets: list[h.Target] = []
    parts = {p.strip() for p in args.parts.split(",")}
    if "overhead" in parts:
        overhead(args, repeats, targets)
    if "parallel" in parts:
        parallel(args, repeats, targets)
    if "artifact" in parts:
        artifact(args, repeats, targets)
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
