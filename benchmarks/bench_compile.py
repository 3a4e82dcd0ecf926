"""Issue #2: `portaflow compile FILE --target ir` beside kfp 2.17's own compile.

For each generated pipeline (chain and wide fan-out of 10, 100 and 1000 steps,
and a 100-step file that imports pandas and scikit-learn at the top) it times,
interleaved, as fresh processes:

* kfp:       ``.venvs/kfp/bin/python kfp_FILE.py OUT.yaml`` -- the file defines
             ``@dsl.component`` steps and a ``@dsl.pipeline`` and calls
             ``kfp.compiler.Compiler().compile(...)`` (kfp must import the file,
             so it pays for pandas/sklearn too);
* portaflow: ``portaflow compile FILE --target ir -o DIR`` -- parses the file,
             never imports it.

It also times ``portaflow --help`` and ``python -c "import portaflow"``.
Medians of ``--repeats`` runs; peak RSS per process from ``wait4``.

    python benchmarks/bench_compile.py [--repeats 5] [--quick] [--strict]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import harness as h
import pipelines as pl

SIZES = (10, 100, 1000)
TARGET_1000 = 6.0  # kfp / portaflow wall time, 1000-step pipelines
TARGET_IMPORTS = 10.0  # kfp / portaflow wall time, the file importing pandas + sklearn
TARGET_HELP = 0.15  # seconds, `portaflow --help`


def shapes(quick: bool) -> list[pl.Shape]:
    if quick:
        return [pl.Shape("chain", 10), pl.Shape("fanout", 100), pl.Shape("chain", 100, True)]
    out = [pl.Shape(kind, n) for n in SIZES for kind in ("chain", "fanout")]
    out.append(pl.Shape("chain", 100, imports=True))
    out.append(pl.Shape("fanout", 100, imports=True))
    return out


def check_ir(out_dir: Path, shape: pl.Shape) -> str | None:
    """Sanity check that portaflow compiled the whole DAG (tasks and edges)."""
    files = sorted(out_dir.rglob("*.json"))
    if not files:
        return f"no IR JSON written under {out_dir}"
    doc = json.loads(files[0].read_text())
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    if tasks is not None and len(tasks) != shape.steps:
        return f"IR has {len(tasks)} tasks, expected {shape.steps}"
    edges = doc.get("edges") if isinstance(doc, dict) else None
    want = sum(1 for _, up in shape.edges() if up is not None)
    if edges is not None and len(edges) != want:
        return f"IR has {len(edges)} edges, expected {want}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = h.common_args(__doc__.split("\n")[0]).parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 5 else args.repeats
    work = args.out / "compile"
    kfp_py = h.venv_python("kfp")
    pf = h.portaflow_cmd()

    jobs: dict[tuple[str, str], h.Job] = {}
    cases = shapes(args.quick)
    for shape in cases:
        d = work / shape.slug
        pf_file = d / "pipeline.py"
        kfp_file = d / "kfp_pipeline.py"
        pl.write(pf_file, pl.portaflow_source(shape))
        pl.write_project(d)
        pl.write(kfp_file, pl.kfp_source(shape))

        def kfp_job(d: Path = d, f: Path = kfp_file) -> h.Sample:
            return h.run([kfp_py, f, d / "kfp.yaml"], cwd=d, log=d / "kfp.log")

        def pf_job(d: Path = d, f: Path = pf_file) -> h.Sample:
            return h.run(
                [*pf, "compile", f, "--target", "ir", "-o", d / "ir"],
                cwd=d,
                log=d / "portaflow.log",
            )

        jobs[(shape.label, "kfp")] = kfp_job
        jobs[(shape.label, "portaflow")] = pf_job

    jobs[("--help", "portaflow")] = lambda: h.run([*pf, "--help"], log=work / "help.log")
    jobs[("import portaflow", "python")] = lambda: h.run(
        [sys.executable, "-c", "import portaflow"], log=work / "import.log"
    )
    jobs[("python -c pass", "python")] = lambda: h.run(
        [sys.executable, "-c", "pass"], log=work / "pass.log"
    )

    print(f"bench_compile: {h.machine()}, portaflow @ {h.git_rev()}, {repeats} repeat(s)")
    print(f"before the runs: {h.load_note()}")
    res = h.interleave(jobs, repeats)
    print(f"after the runs: {h.load_note()}")

    rows = []
    for shape in cases:
        k = res[(shape.label, "kfp")]
        p = res[(shape.label, "portaflow")]
        bad = check_ir(work / shape.slug / "ir", shape) if p.ok else None
        if bad:
            p.error = bad
        rows.append(
            [
                shape.label,
                k.wall if k.ok else None,
                k.cpu if k.ok else None,
                k.rss_mib if k.ok else None,
                p.wall if p.ok else None,
                p.cpu if p.ok else None,
                p.rss_mib if p.ok else None,
                h.ratio(k, p),
                h.ratio(k, p, cpu=True),
            ]
        )
    print()
    print(
        h.table(
            [
                "pipeline",
                "kfp wall s",
                "kfp cpu s",
                "kfp MiB",
                "portaflow wall s",
                "portaflow cpu s",
                "portaflow MiB",
                "kfp/portaflow wall",
                "kfp/portaflow cpu",
            ],
            rows,
        )
    )
    extra = [
        [
            f"{label} ({tool})",
            s.wall if s.ok else None,
            s.cpu if s.ok else None,
            s.rss_mib if s.ok else None,
        ]
        for (label, tool), s in res.items()
        if tool == "python" or label == "--help"
    ]
    print()
    print(h.table(["process", "wall s", "cpu s", "MiB"], extra))
    for (label, tool), s in res.items():
        if s.error:
            print(f"\n{tool} {label}: FAILED: {s.error[:1500]}")

    targets: list[h.Target] = []
    for shape in cases:
        if shape.imports:
            goal = TARGET_IMPORTS
        elif shape.steps == 1000:
            goal = TARGET_1000
        else:
            continue
        k, p = res[(shape.label, "kfp")], res[(shape.label, "portaflow")]
        if k.ok and p.ok:
            r = k.wall / p.wall
            targets.append(
                h.Target(f"{shape.label} >= {goal:g}x faster than kfp", r >= goal, f"{r:.1f}x")
            )
        else:
            targets.append(
                h.Target(f"{shape.label} >= {goal:g}x faster than kfp", None, "not measured")
            )
    hs = res[("--help", "portaflow")]
    targets.append(
        h.Target(
            f"portaflow --help < {TARGET_HELP} s",
            (hs.wall < TARGET_HELP) if hs.ok else None,
            f"{hs.wall:.3f} s" if hs.ok else "not measured",
        )
    )
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
