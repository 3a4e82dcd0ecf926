"""Random valid pipelines, compiled with a store and a code package, still pass KFP's rules.

Every executor running portaflow (not a container step) carries the store's env, the
store secret's named keys and the run id from the pod's label (kfp-kubernetes' schema),
and starts with the code package's prelude; a task in a loop also gets the pod's name.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from portaflow.backends import BackendError, CodeRef, EmitOptions
from portaflow.backends.kfp import emit
from portaflow.backends.kfp.groups import Groups
from portaflow.compiler import compile_file
from strategies import GeneratedPipeline, pipelines

from .checks import check_result, parse

DIGEST = "0" * 64
CODE = CodeRef(mode="package", digest=DIGEST, uri=f"s3://ml-store/team-a/code/{DIGEST}.tar")
STORE = {"store": "s3://ml-store/team-a", "store_secret": "ml-store-creds"}


# The profile's examples (200 by default), as test_random.py: each compiles twice, with
# the ~7 KB prelude in every executor.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_generated_pipelines_with_a_store_and_a_package(gen: GeneratedPipeline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pipeline.py"
        f.write_text(gen.source)
        p = compile_file(f, root=tmp)
    names = Groups(p).names
    for flavour in ("python", "container"):
        options = EmitOptions(code=CODE, extra={**STORE, "kfp_executor": flavour})
        try:
            result = emit(p, options=options)
        except BackendError as exc:
            # The same documented limits as without a store (test_random.py).
            # PF635: a generated importer URI holding `{{` (test_random.py allows it too).
            allowed = {"PF607", "PF635"} | ({"PF605"} if flavour == "container" else set())
            assert {m.code for m in exc.messages} <= allowed, (exc, gen.source)
            continue
        check_result(result)
        spec, doc = parse(result.files[0].text)
        assert doc is not None, "a store always brings a platform spec"
        platform = doc["platforms"]["kubernetes"]["deploymentSpec"]
        for t in p.tasks:
            if p.step(t.step).container is not None:
                continue
            exe = f"exec-{names[t.id]}"
            if "importer" in spec["deploymentSpec"]["executors"][exe]:
                continue  # KFP's own importer node: no container of ours
            container = spec["deploymentSpec"]["executors"][exe]["container"]
            env = {e["name"]: e["value"] for e in container["env"]}
            assert env["PORTAFLOW_STORE_URI"] == STORE["store"]
            k8s = platform["executors"][exe]
            assert [s["secretName"] for s in k8s["secretAsEnv"]][-2:] == ["ml-store-creds"] * 2
            fields = [f["name"] for f in k8s["fieldPathAsEnv"]]
            assert fields == ["PORTAFLOW_RUN_ID", *(["PORTAFLOW_KFP_POD"] if t.loop else [])]
            text = " ".join(container["command"])
            assert "_portaflow_code" in text and DIGEST in text
