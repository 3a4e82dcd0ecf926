"""Issue #12: `portaflow migrate` of the 1000-step KFP pipeline, and libcst's import cost.

Part `migrate`: the chain and fan-out KFP pipelines bench_kfp.py compiles
(``pipelines.kfp_source``: one ``@dsl.component`` per step, ``task.output`` edges,
``compiler.Compiler().compile`` under ``__main__``) at 100 and 1000 steps, migrated as
fresh whole processes, ``portaflow migrate FILE --from kfp -o OUT``. Each migrated file
must then pass ``portaflow compile OUT --target ir`` with one IR task per step. Beside
it, for scale, ``portaflow compile`` of the migrated file (what a user runs next).

Part `imports`: what libcst costs a process, and that the other commands do not pay it:
``python -c "import libcst, libcst.metadata"`` against ``python -c "pass"``, and
``portaflow --help`` / ``portaflow compile`` (fan-out-1000, --target ir), each checked
once in-process to leave ``libcst`` out of ``sys.modules``.

    python benchmarks/bench_migrate.py [--repeats 5] [--quick] [--sizes 100,1000]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness as h
import pipelines as pl

CHECK = """
import json, sys
from click.testing import CliRunner
from portaflow.compiler.cli import main
code = CliRunner().invoke(main, sys.argv[1:]).exit_code
print(json.dumps([code, "libcst" in sys.modules]))
"""


def ir_tasks(folder: Path) -> int:
    doc = json.loads(next(folder.glob("*.ir.json")).read_text())
    return len(doc["tasks"])


def migrate_part(args: object, repeats: int, quick: bool) -> tuple[list[h.Target], str]:
    work = Path(getattr(args, "out")) / "migrate"  # noqa: B009 - argparse namespace
    pf = h.portaflow_cmd()
    sizes = (100,) if quick else tuple(int(n) for n in str(getattr(args, "sizes")).split(","))  # noqa: B009
    cases = [pl.Shape(kind, n) for n in sizes for kind in ("chain", "fanout")]
    jobs: dict[tuple[str, str], h.Job] = {}
    for shape in cases:
        d = work / shape.slug
        src = d / "kfp_pipeline.py"
        pl.write(src, pl.kfp_source(shape))
        pl.write_project(d)
        out = d / "migrated" / "pipeline.py"
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.parent / "pyproject.toml").write_text('[project]\nname = "m"\nversion = "0"\n')

        def migrate_job(d: Path = d, src: Path = src, out: Path = out) -> h.Sample:
            return h.run(
                [*pf, "migrate", src, "--from", "kfp", "-o", out], cwd=d, log=d / "migrate.log"
            )

        def compile_job(d: Path = d, out: Path = out) -> h.Sample:
            return h.run(
                [*pf, "compile", out, "--target", "ir", "-o", d / "ir"],
                cwd=d,
                log=d / "compile.log",
            )

        jobs[(shape.label, "migrate")] = migrate_job
        jobs[(shape.label, "compile")] = compile_job
    # The migrated file must exist before its compile is timed: one untimed pass first.
    for shape in cases:
        jobs[(shape.label, "migrate")]()
    res = h.interleave(jobs, repeats)
    rows = []
    targets = []
    for shape in cases:
        m, c = res[(shape.label, "migrate")], res[(shape.label, "compile")]
        d = work / shape.slug
        n = ir_tasks(d / "ir") if c.ok else None
        if n is not None and n != shape.steps:
            c.error = f"{n} IR tasks, expected {shape.steps}"
        rows.append(
            [
                shape.label,
                m.wall if m.ok else None,
                m.cpu if m.ok else None,
                m.rss_mib if m.ok else None,
                c.wall if c.ok else None,
                f"{n}/{shape.steps}",
            ]
        )
        if shape.steps == 1000:
            ok = m.ok and c.ok and n == shape.steps
            targets.append(
                h.Target(
                    f"{shape.label} migrated and compiled whole",
                    ok,
                    f"migrate {m.wall:.2f} s wall" if m.ok else "failed",
                )
            )
    text = h.table(
        [
            "pipeline",
            "migrate wall s",
            "migrate cpu s",
            "migrate MiB",
            "compile (ir) of the result wall s",
            "IR tasks",
        ],
        rows,
    )
    for (label, tool), s in res.items():
        if s.error:
            text += f"\n{tool} {label}: FAILED: {s.error[:1500]}"
    return targets, text


def imports_part(args: object, repeats: int) -> tuple[list[h.Target], str]:
    work = Path(getattr(args, "out")) / "migrate" / "imports"  # noqa: B009
    work.mkdir(parents=True, exist_ok=True)
    pf = h.portaflow_cmd()
    shape = pl.Shape("fanout", 1000)
    src = work / "pipeline.py"
    pl.write(src, pl.portaflow_source(shape))
    pl.write_project(work)
    py = sys.executable
    jobs: dict[tuple[str, str], h.Job] = {
        ("python -c pass", "bare"): lambda: h.run([py, "-c", "pass"]),
        ("import libcst", "libcst"): lambda: h.run([py, "-c", "import libcst, libcst.metadata"]),
        ("portaflow --help", "help"): lambda: h.run([*pf, "--help"]),
        ("portaflow compile fanout-1000", "compile"): lambda: h.run(
            [*pf, "compile", src, "--target", "ir", "-o", work / "ir"], cwd=work
        ),
    }
    res = h.interleave(jobs, repeats)
    bare = res[("python -c pass", "bare")]
    rows = []
    for key, s in res.items():
        extra = s.wall - bare.wall if s.ok and bare.ok else None
        rows.append([key[0], s.wall if s.ok else None, s.cpu if s.ok else None, extra])
    text = h.table(["process", "wall s", "cpu s", "wall over bare python s"], rows)
    targets = []
    for args_ in (["--help"], ["compile", str(src), "--target", "ir", "-o", str(work / "ir")]):
        proc = subprocess.run(
            [py, "-c", CHECK, *args_], capture_output=True, text=True, check=False, cwd=work
        )
        code, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
        name = f"portaflow {args_[0]} does not import libcst"
        targets.append(h.Target(name, code == 0 and not loaded, f"exit {code}, loaded={loaded}"))
    return targets, text


def main(argv: list[str] | None = None) -> int:
    parser = h.common_args(__doc__.split("\n")[0])
    parser.add_argument("--parts", default="migrate,imports", help="comma-separated")
    parser.add_argument("--sizes", default="100,1000", help="step counts for `migrate`")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 5 else args.repeats
    parts = set(args.parts.split(","))
    print(f"bench_migrate: {h.machine()}, portaflow @ {h.git_rev()}, {repeats} repeat(s)")
    print(f"before the runs: {h.load_note()}")
    targets: list[h.Target] = []
    if "migrate" in parts:
        t, text = migrate_part(args, repeats, args.quick)
        targets += t
        print("\n" + text)
    if "imports" in parts:
        t, text = imports_part(args, repeats)
        targets += t
        print("\n" + text)
    print(f"\nafter the runs: {h.load_note()}")
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
