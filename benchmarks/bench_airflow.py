"""Issue #8: the Airflow backend: compile speed, DagBag parse time, and a real run beside `portaflow run`.

Three measurements, each interleaved as in the other scripts:

* compile: ``portaflow compile FILE --target airflow -o DIR`` for the 100- and
  1000-step chain and fan-out, whole fresh processes;
* parse: Airflow's ``DagBag`` import of the generated 1000-task DAG file beside a
  hand-written DAG of the same shape: the local flavour beside TaskFlow (``@task``
  per step, called in the same order), the kubernetes flavour beside plain
  KubernetesPodOperators; timed inside a fresh Airflow-venv process around
  ``DagBag(...)`` only (what a dag-processor pays per parse, imports included),
  target: no slower;
* run: ``airflow dags test ml_pipeline`` of the ML example (local operator flavour,
  SQLite, no scheduler) beside ``portaflow run examples/ml/pipeline.py`` (no cache),
  whole processes.

The Airflow venv is the tests' cached one (tests/airflow/airflowenv.py).

    python benchmarks/bench_airflow.py [--repeats 5] [--quick] [--strict]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import harness as h
import pipelines as pl

sys.path.insert(0, str(h.REPO / "tests" / "airflow"))
import airflowenv
import dagkit

PARSE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
t = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
seconds = time.perf_counter() - t
assert not bag.import_errors, bag.import_errors
(dag,) = bag.dags.values()
print(json.dumps({"seconds": seconds, "tasks": len(dag.tasks)}))
"""


def taskflow_source(shape: pl.Shape) -> str:
    """The same DAG written by hand with Airflow 3's TaskFlow API."""
    out = ["from airflow.sdk import dag, task\n\n"]
    for i in range(shape.steps):
        out.append(f"\n@task\ndef step_{i}(x: int) -> int:\n    return x + {i}\n\n")
    out.append(f'\n@dag(dag_id="taskflow_{shape.slug}", schedule=None, params={{"n": 1}})\n')
    out.append(f"def taskflow_{shape.slug}():\n")
    for i, up in shape.edges():
        arg = '"{{ params.n }}"' if up is None else f"a{up}"
        out.append(f"    a{i} = step_{i}({arg})\n")
    out.append(f"\n\ntaskflow_{shape.slug}()\n")
    return "".join(out)


def kpo_source(shape: pl.Shape) -> str:
    """The same DAG written by hand with the cncf provider's KubernetesPodOperator, one pod per step."""
    out = [
        "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n",
        "from airflow.sdk import DAG\n\n",
        f'with DAG(dag_id="kpo_{shape.slug}", schedule=None, params={{"n": 1}}):\n',
    ]
    for i, _ in shape.edges():
        out.append(
            f'    a{i} = KubernetesPodOperator(task_id="step_{i}", image="python:3.11-slim", '
            f'cmds=["python", "-m", "steps", "step_{i}"], do_xcom_push=True)\n'
        )
    for i, up in shape.edges():
        if up is not None:
            out.append(f"    a{up} >> a{i}\n")
    return "".join(out)


def parse_seconds(python: Path, env: dict[str, str], file: Path, repeats: int) -> tuple[float, int]:
    times, tasks = [], 0
    for _ in range(repeats + 1):  # the first (untimed) run writes the .pyc files
        done = subprocess.run(
            [str(python), "-c", PARSE, str(file)], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise h.RunFailed(done.stderr[-3000:])
        got = json.loads(done.stdout.strip().splitlines()[-1])
        times.append(got["seconds"])
        tasks = got["tasks"]
    return statistics.median(times[1:]), tasks


def main(argv: list[str] | None = None) -> int:
    args = h.common_args(__doc__.split("\n")[0]).parse_args(argv)
    repeats = 1 if args.quick and args.repeats == 5 else args.repeats
    work = args.out / "airflow"
    shutil.rmtree(work, ignore_errors=True)
    pf = h.portaflow_cmd()
    venv = airflowenv.ensure_venv()
    home = work / "home"
    env = airflowenv.init_home(venv, home)
    print(f"bench_airflow: {h.machine()}, portaflow @ {h.git_rev()}, {repeats} repeat(s)")
    print(f"before the runs: {h.load_note()}")

    # 1. compile
    sizes = (100,) if args.quick else (100, 1000)
    cases = [pl.Shape(kind, n) for n in sizes for kind in ("chain", "fanout")]
    jobs: dict[tuple[str, str], h.Job] = {}
    for shape in cases:
        d = work / shape.slug
        pl.write(d / "pipeline.py", pl.portaflow_source(shape))
        pl.write_project(d)

        def pf_job(d: Path = d) -> h.Sample:
            cmd = [*pf, "compile", d / "pipeline.py", "--target", "airflow", "-o", d / "dags"]
            return h.run(cmd, cwd=d, log=d / "portaflow.log")

        jobs[(shape.label, "portaflow")] = pf_job
    res = h.interleave(jobs, repeats)
    rows = [[s.label, res[(s.label, "portaflow")].wall, res[(s.label, "portaflow")].cpu,
             res[(s.label, "portaflow")].rss_mib] for s in cases]  # fmt: skip
    print("\n" + h.table(["pipeline", "compile wall s", "cpu s", "MiB"], rows))

    # 2. DagBag parse: generated vs hand-written, same shape (local flavour vs TaskFlow,
    #    kubernetes flavour vs plain KubernetesPodOperators)
    prow = []
    for shape in cases:
        d = work / shape.slug
        local = d / "dags-local"
        cmd = [*pf, "compile", d / "pipeline.py", "-t", "airflow", "--airflow-operator", "local"]
        subprocess.run([*map(str, cmd), "-o", str(local)], check=True, capture_output=True)
        pairs = (
            ("local vs TaskFlow", local, taskflow_source(shape)),
            ("kubernetes vs KPO", d / "dags", kpo_source(shape)),
        )
        for what, folder, hand_text in pairs:
            (gen,) = sorted(folder.glob("*.py"))
            hand = d / "hand" / what.split()[0] / f"hand_{shape.slug}.py"
            pl.write(hand, hand_text)
            ours, n1 = parse_seconds(venv.python, env, gen, repeats)
            theirs, n2 = parse_seconds(venv.python, env, hand, repeats)
            prow.append([shape.label, what, theirs, ours, f"{theirs / ours:.2f}x", f"{n2}/{n1}"])
    heads = ["pipeline", "flavour", "hand-written parse s", "portaflow parse s", "hand/portaflow"]
    print("\n" + h.table([*heads, "tasks"], prow))

    # 3. the ML example: airflow dags test vs portaflow run
    ml = h.REPO / "examples" / "ml"
    dagkit.compile_example(ml, home / "dags")
    store = work / "ml-store"
    run_jobs: dict[tuple[str, str], h.Job] = {
        ("ml", "airflow"): lambda: h.run(
            [venv.airflow, "dags", "test", "ml_pipeline"], env=env, log=work / "ml-airflow.log"
        ),
        ("ml", "portaflow"): lambda: h.run(
            [*pf, "run", ml / "pipeline.py", "--store", store, "--no-cache"],
            cwd=ml,
            log=work / "ml-portaflow.log",
        ),
    }
    rr = h.interleave(run_jobs, max(1, repeats // 2))
    a, p = rr[("ml", "airflow")], rr[("ml", "portaflow")]
    print("\n" + h.table(
        ["pipeline", "airflow dags test wall s", "cpu s", "portaflow run wall s", "cpu s", "ratio"],
        [["ml", a.wall if a.ok else None, a.cpu if a.ok else None, p.wall if p.ok else None,
          p.cpu if p.ok else None, h.ratio(a, p)]],
    ))  # fmt: skip
    print(f"after the runs: {h.load_note()}")
    for (label, tool), s in {**res, **rr}.items():
        if s.error:
            print(f"\n{tool} {label}: FAILED: {s.error[:1500]}")
    big = [r for r in prow if r[0].endswith("-1000")]
    targets = [h.Target(f"DagBag parse {r[0]} {r[1]}: no slower", r[3] <= r[2] * 1.05, f"{r[3]:.3f}s vs {r[2]:.3f}s") for r in big]  # fmt: skip
    return h.report_targets(targets, args.strict)


if __name__ == "__main__":
    sys.exit(main())
