"""Issue #4: emitting Argo YAML, `portaflow compile --target argo` beside hera 7.1.

For the 1000-step chain and fan-out (and 100 steps, for the trend) it times,
interleaved, as fresh whole processes:

* hera:      ``.venvs/hera/bin/python hera_FILE.py OUT.yaml`` -- the file defines
             one ``@script`` template per step, builds ``Workflow`` + ``DAG`` and
             writes ``Workflow.to_yaml()``;
* portaflow: ``portaflow compile FILE --target argo -o DIR``.

Both outputs are parsed afterwards to check each holds the whole DAG.

    python benchmarks/bench_argo.py [--repeats 5] [--quick] [--strict]
"""

from __future__ import annotations

import sys
from pathlib import Path

import harness as h
import pipelines as pl
import yaml

TARGET = 5.0  # hera / portaflow wall time, 1000-step pipelines

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader  # type: ignore[misc]


def shapes(quick: bool) -> list[pl.Shape]:
    if quick:
        return [pl.Shape("chain", 100)]
    return [pl.Shape(kind, n) for n in (100, 1000) for kind in ("chain", "fanout")]


def dag_tasks(path: Path) -> int:
    """Number of DAG tasks over every Workflow / WorkflowTemplate document in ``path``."""
    files = [path] if path.is_file() else sorted(path.rglob("*.y*ml"))
    n = 0
    for f in files:
        for doc in yaml.load_all(f.read_text(), Loader=_Loader):
            if not isinstance(doc, dict):
                continue
            for t in (doc.get("spec") or {}).get("templates") or []:
                n += len((t.get("dag") or {}).get("tasks") or [])
    return n


def main(argv: list[str] | None = None) -> int:
    args = h.common_args(__doc__.split("\n")[0]).parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 5 else args.repeats
    work = args.out / "argo"
    hera_py = h.venv_python("hera")
    pf = h.portaflow_cmd()

    cases = shapes(args.quick)
    jobs: dict[tuple[str, str], h.Job] = {}
    for shape in cases:
        d = work / shape.slug
        pf_file = d / "pipeline.py"
        hera_file = d / "hera_pipeline.py"
        pl.write(pf_file, pl.portaflow_source(shape))
        pl.write_project(d)
        pl.write(hera_file, pl.hera_source(shape))

        def hera_job(d: Path = d, f: Path = hera_file) -> h.Sample:
            return h.run([hera_py, f, d / "hera.yaml"], cwd=d, log=d / "hera.log")

        def pf_job(d: Path = d, f: Path = pf_file) -> h.Sample:
            return h.run(
                [*pf, "compile", f, "--target", "argo", "-o", d / "argo"],
                cwd=d,
                log=d / "portaflow.log",
            )

        jobs[(shape.label, "hera")] = hera_job
        jobs[(shape.label, "portaflow")] = pf_job

    print(f"bench_argo: {h.machine()}, portaflow @ {h.git_rev()}, {repeats} repeat(s)")
    print(f"before the runs: {h.load_note()}")
    res = h.interleave(jobs, repeats)
    print(f"after the runs: {h.load_note()}")

    rows = []
    for shape in cases:
        he, p = res[(shape.label, "hera")], res[(shape.label, "portaflow")]
        d = work / shape.slug
        counts = []
        for series, out in ((he, d / "hera.yaml"), (p, d / "argo")):
            if not series.ok:
                counts.append(None)
                continue
            n = dag_tasks(out)
            counts.append(n)
            if n != shape.steps:
                series.error = f"{out}: {n} DAG tasks, expected {shape.steps}"
        rows.append(
            [
                shape.label,
                he.wall if he.ok else None,
                he.cpu if he.ok else None,
                he.rss_mib if he.ok else None,
                p.wall if p.ok else None,
                p.cpu if p.ok else None,
                p.rss_mib if p.ok else None,
                h.ratio(he, p),
                h.ratio(he, p, cpu=True),
                f"{counts[0]}/{counts[1]}",
            ]
        )
    print()
    print(
        h.table(
            [
                "pipeline",
                "hera wall s",
                "hera cpu s",
                "hera MiB",
                "portaflow wall s",
                "portaflow cpu s",
                "portaflow MiB",
                "hera/portaflow wall",
                "hera/portaflow cpu",
                "tasks h/p",
            ],
            rows,
        )
    )
    for (label, tool), s in res.items():
        if s.error:
            print(f"\n{tool} {label}: FAILED: {s.error[:1500]}")

    targets = []
    for shape in cases:
        if shape.steps != 1000:
            continue
        he, p = res[(shape.label, "hera")], res[(shape.label, "portaflow")]
        name = f"{shape.label} Argo YAML >= {TARGET:g}x faster than hera"
        if he.ok and p.ok:
            r = he.wall / p.wall
            targets.append(h.Target(name, r >= TARGET, f"{r:.1f}x"))
        else:
            targets.append(h.Target(name, None, "not measured"))
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
