"""Issue #7: `portaflow compile --target kfp` beside kfp 2.17's own compile; one kfp.local run.

Part `compile`: for the chain and fan-out at 100, 1000 and 3000 steps it times,
interleaved, as fresh whole processes:

* kfp:       ``python kfp_FILE.py OUT.yaml`` -- ``@dsl.component`` per step and
             ``kfp.compiler.Compiler().compile(...)`` (pipelines.kfp_source);
* portaflow: ``portaflow compile FILE --target kfp -o DIR``.

Both outputs are parsed afterwards and must hold one root DAG task per step.
Linearity: portaflow's CPU time per step at 3000 steps over its CPU time per step at
1000 (CPU, not wall: on a shared machine wall time also counts waiting for a core).

Part `ml`: the ML example once under ``kfp.local`` (``SubprocessRunner(use_venv=False)``,
our compiled YAML loaded with ``load_component_from_file``) beside ``portaflow run
--no-cache`` of the same file, both as whole processes from a fresh copy.

kfp runs from ``benchmarks/.venvs/kfp`` when ``setup.sh`` made it, else from the Python
running this script (the ``[test]`` extra installs kfp 2.17.3).

    python benchmarks/bench_kfp.py [--repeats 3] [--quick] [--strict] [--parts compile,ml]
        [--sizes 100,1000,3000]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import harness as h
import pipelines as pl
import yaml

TARGET = 10.0  # kfp / portaflow wall time, 1000-step pipelines
LINEAR = 1.3  # portaflow's time per step at 3000 over 1000 steps must stay below this
REPO = Path(__file__).resolve().parents[1]

KFP_LOCAL = """\
import os
import sys

import kfp.local
from kfp.components import load_component_from_file

kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])
load_component_from_file(sys.argv[1])(n_estimators=10)
"""

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader  # type: ignore[misc]


def kfp_python() -> Path:
    venv = h.VENVS / "kfp" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def shapes(quick: bool, sizes: tuple[int, ...] = (100, 1000, 3000)) -> list[pl.Shape]:
    if quick:
        return [pl.Shape("chain", 100)]
    return [pl.Shape(kind, n) for n in sizes for kind in ("chain", "fanout")]


def root_tasks(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.rglob("*.yaml"))
    doc = next(yaml.load_all(files[0].read_text(), Loader=_Loader))
    return len(doc["root"]["dag"]["tasks"])


def compile_part(args: object, repeats: int, quick: bool) -> tuple[list[h.Target], str]:
    work = Path(getattr(args, "out")) / "kfp"  # noqa: B009 - argparse namespace
    py = kfp_python()
    pf = h.portaflow_cmd()
    sizes = tuple(int(n) for n in str(getattr(args, "sizes")).split(","))  # noqa: B009
    cases = shapes(quick, sizes)
    jobs: dict[tuple[str, str], h.Job] = {}
    for shape in cases:
        d = work / shape.slug
        pf_file = d / "pipeline.py"
        kfp_file = d / "kfp_pipeline.py"
        pl.write(pf_file, pl.portaflow_source(shape))
        pl.write_project(d)
        pl.write(kfp_file, pl.kfp_source(shape))

        def kfp_job(d: Path = d, f: Path = kfp_file) -> h.Sample:
            return h.run([py, f, d / "kfp.yaml"], cwd=d, log=d / "kfp.log", timeout=3600)

        def pf_job(d: Path = d, f: Path = pf_file) -> h.Sample:
            return h.run(
                [*pf, "compile", f, "--target", "kfp", "-o", d / "ours"],
                cwd=d,
                log=d / "portaflow.log",
            )

        jobs[(shape.label, "kfp")] = kfp_job
        jobs[(shape.label, "portaflow")] = pf_job
    # kfp at 3000 steps takes minutes: one sample each there, `repeats` elsewhere.
    big = {k: v for k, v in jobs.items() if k[0].endswith("-3000")}
    small = {k: v for k, v in jobs.items() if k not in big}
    res = h.interleave(small, repeats)
    if big:
        res.update(h.interleave(big, 1, warmup=False))
    rows = []
    for shape in cases:
        k, p = res[(shape.label, "kfp")], res[(shape.label, "portaflow")]
        d = work / shape.slug
        counts = []
        for series, out in ((k, d / "kfp.yaml"), (p, d / "ours")):
            if not series.ok:
                counts.append(None)
                continue
            n = root_tasks(out)
            counts.append(n)
            if n != shape.steps:
                series.error = f"{out}: {n} root DAG tasks, expected {shape.steps}"
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
                f"{counts[0]}/{counts[1]}",
            ]
        )
    text = h.table(
        [
            "pipeline",
            "kfp wall s",
            "kfp cpu s",
            "kfp MiB",
            "portaflow wall s",
            "portaflow cpu s",
            "portaflow MiB",
            "kfp/portaflow wall",
            "tasks k/p",
        ],
        rows,
    )
    for (label, tool), s in res.items():
        if s.error:
            text += f"\n{tool} {label}: FAILED: {s.error[:1500]}"
    targets = []
    for shape in cases:
        k, p = res[(shape.label, "kfp")], res[(shape.label, "portaflow")]
        if shape.steps == 1000:
            name = f"{shape.label} KFP YAML >= {TARGET:g}x faster than kfp"
            ok = k.ok and p.ok
            r = k.wall / p.wall if ok else 0.0
            targets.append(h.Target(name, r >= TARGET if ok else None, f"{r:.1f}x"))
        base_key = (shape.label.replace("3000", "1000"), "portaflow")
        if shape.steps == 3000 and base_key in res:
            # CPU time: on a shared 2-core machine wall time also counts the waits for a core.
            base, kb = res[base_key], res[(base_key[0], "kfp")]
            if p.ok and base.ok:
                growth = (p.cpu / 3000) / (base.cpu / 1000)
                wall = (p.wall / 3000) / (base.wall / 1000)
                kfp_growth = (k.cpu / 3000) / (kb.cpu / 1000) if k.ok and kb.ok else None
                detail = (
                    f"CPU per step x{growth:.2f} from 1000 to 3000 steps (wall x{wall:.2f})"
                    + (f"; kfp x{kfp_growth:.2f}" if kfp_growth else "")
                )
                targets.append(h.Target(f"{shape.label} linear", growth <= LINEAR, detail))
    return targets, text


def ml_part(args: object, repeats: int) -> str:
    work = Path(getattr(args, "out")) / "kfp" / "ml"  # noqa: B009
    if work.exists():
        shutil.rmtree(work)
    project = work / "ml"
    shutil.copytree(
        REPO / "examples" / "ml", project, ignore=shutil.ignore_patterns(".portaflow", "expected")
    )
    pf = h.portaflow_cmd()
    spec = work / "ml.yaml"
    subprocess.run(
        [*pf, "compile", project / "pipeline.py", "--target", "kfp", "-o", work / "compiled"],
        check=True,
        capture_output=True,
    )
    shutil.copy(next((work / "compiled").glob("*.yaml")), spec)
    runner = work / "run_kfp_local.py"
    runner.write_text(KFP_LOCAL)
    env = {"PORTAFLOW_ROOT": str(project)}
    py = kfp_python()
    n = 0

    def kfp_job() -> h.Sample:
        nonlocal n
        n += 1
        root = work / f"kfp-root-{n}"
        return h.run([py, runner, spec, root], cwd=work, env=env, log=work / "kfp-local.log")

    def pf_job() -> h.Sample:
        return h.run(
            [*pf, "run", project / "pipeline.py", "--no-cache", "--param", "n_estimators=10"],
            cwd=project,
            log=work / "portaflow-run.log",
        )

    res = h.interleave({("ml", "kfp.local"): kfp_job, ("ml", "portaflow run"): pf_job}, repeats)
    k, p = res[("ml", "kfp.local")], res[("ml", "portaflow run")]
    text = h.table(
        ["pipeline", "kfp.local wall s", "kfp.local cpu s", "portaflow run wall s",
         "portaflow run cpu s", "kfp.local/portaflow wall"],
        [["ml (n_estimators=10)", k.wall if k.ok else None, k.cpu if k.ok else None,
          p.wall if p.ok else None, p.cpu if p.ok else None, h.ratio(k, p)]],
    )  # fmt: skip
    for (_label, tool), s in res.items():
        if s.error:
            text += f"\n{tool}: FAILED: {s.error[:1500]}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = h.common_args(__doc__.split("\n")[0])
    parser.add_argument("--parts", default="compile,ml", help="comma-separated: compile,ml")
    parser.add_argument("--sizes", default="100,1000,3000", help="step counts for `compile`")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 5 else args.repeats
    parts = set(args.parts.split(","))
    print(f"bench_kfp: {h.machine()}, portaflow @ {h.git_rev()}, {repeats} repeat(s)")
    print(f"kfp from {kfp_python()}")
    print(f"before the runs: {h.load_note()}")
    targets: list[h.Target] = []
    if "compile" in parts:
        t, text = compile_part(args, repeats, args.quick)
        targets += t
        print("\n" + text)
    if "ml" in parts:
        print("\n" + ml_part(args, 1 if args.quick else repeats))
    print(f"\nafter the runs: {h.load_note()}")
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
