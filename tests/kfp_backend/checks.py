"""KFP's own rules for an emitted file: the protobuf parse, kfp's loader, and the API server's references.

`json_format.ParseDict` into `PipelineSpec` rejects unknown fields, bad enums and wrong
types at any depth; `kfp.components.load_component_from_file` runs the same parse. Neither
checks references, which the KFP API server and the driver do: those are checked here
(every component, executor, producer task, output key and DAG input exists; no cycles;
`schemaVersion` 2.1.0, a pipeline name and a `root`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
import yaml
from google.protobuf import json_format
from kfp.components import load_component_from_file
from kfp.pipeline_spec import pipeline_spec_pb2

from portaflow.backends import EmitResult

Doc = dict[str, Any]
#: libyaml's safe loader where pyyaml has it (its wheels do): the same documents, ~10x faster on
#: the large specs a package-mode stack makes (a code prelude in every executor).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str) -> tuple[Doc, Doc | None]:
    """The PipelineSpec and the platform spec (or None) of one emitted file, strictly parsed."""
    docs = list(yaml.load_all(text, Loader=_LOADER))
    assert 1 <= len(docs) <= 2, f"expected 1 or 2 documents, got {len(docs)}"
    spec = docs[0]
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    platform = docs[1] if len(docs) == 2 else None
    if platform is not None:
        json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
        _check_platform(spec, platform)
    return spec, platform


def _check_platform(spec: Doc, platform: Doc) -> None:
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s

    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, cfg in executors.items():
        assert name in spec["deploymentSpec"]["executors"], f"platform spec names {name!r}"
        json_format.ParseDict(cfg, k8s.KubernetesExecutorConfig())


def check_references(spec: Doc) -> None:
    """What the KFP API server and driver check beyond the protobuf's shape."""
    assert spec["schemaVersion"] == "2.1.0"
    assert spec["pipelineInfo"]["name"]
    assert "dag" in spec["root"]
    comps = spec["components"]
    execs = spec["deploymentSpec"]["executors"]
    for name, comp in comps.items():
        if "executorLabel" in comp:
            assert comp["executorLabel"] in execs, f"{name}: no executor {comp['executorLabel']}"
        else:
            assert "dag" in comp, f"{name}: neither an executor nor a DAG"
    used = set()
    for where, comp in [("root", spec["root"]), *comps.items()]:
        if "dag" in comp:
            used |= _check_dag(where, comp, comps)
    assert used == set(comps), f"unused components: {sorted(set(comps) - used)}"


def _defs(comp: Doc, side: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = comp.get(side, {}).get(kind, {})
    return found


def _check_dag(where: str, comp: Doc, comps: dict[str, Doc]) -> set[str]:
    tasks: dict[str, Doc] = comp["dag"]["tasks"]
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(tasks)
    in_params = _defs(comp, "inputDefinitions", "parameters")
    in_arts = _defs(comp, "inputDefinitions", "artifacts")
    used = set()
    for tname, task in tasks.items():
        ref = task["componentRef"]["name"]
        assert ref in comps, f"{where}/{tname}: no component {ref}"
        used.add(ref)
        callee = comps[ref]
        assert task["taskInfo"]["name"] == tname
        for dep in task.get("dependentTasks", []):
            assert dep in tasks, f"{where}/{tname}: depends on unknown task {dep}"
            graph.add_edge(dep, tname)
        ins = task.get("inputs", {})
        callee_params = _defs(callee, "inputDefinitions", "parameters")
        callee_arts = _defs(callee, "inputDefinitions", "artifacts")
        for pname, pspec in ins.get("parameters", {}).items():
            assert pname in callee_params, f"{where}/{tname}: {ref} has no input {pname!r}"
            if "componentInputParameter" in pspec:
                assert pspec["componentInputParameter"] in in_params, (where, tname, pspec)
            elif "taskOutputParameter" in pspec:
                prod = pspec["taskOutputParameter"]
                _producer_has(
                    tasks, comps, prod["producerTask"], "parameters", prod["outputParameterKey"]
                )
                assert prod["producerTask"] in task.get("dependentTasks", []), (where, tname)
            elif "taskFinalStatus" in pspec:
                assert pspec["taskFinalStatus"]["producerTask"] in tasks
            else:
                assert "runtimeValue" in pspec, (where, tname, pspec)
        for aname, aspec in ins.get("artifacts", {}).items():
            assert aname in callee_arts, f"{where}/{tname}: {ref} has no artifact input {aname!r}"
            if "componentInputArtifact" in aspec:
                assert aspec["componentInputArtifact"] in in_arts, (where, tname, aspec)
            else:
                prod = aspec["taskOutputArtifact"]
                _producer_has(
                    tasks, comps, prod["producerTask"], "artifacts", prod["outputArtifactKey"]
                )
                assert prod["producerTask"] in task.get("dependentTasks", []), (where, tname)
        missing = set(callee_params) - set(ins.get("parameters", {}))
        for name in missing:
            d = callee_params[name]
            loop_input = task.get("parameterIterator", {}).get("itemInput") == name
            assert loop_input or d.get("isOptional"), f"{where}/{tname}: input {name} not bound"
        it = task.get("parameterIterator")
        if it is not None:
            assert it["itemInput"] in callee_params
            src = it["items"].get("inputParameter")
            if src is not None:
                assert src in ins.get("parameters", {}), (where, tname, src)
    for oname, ospec in comp["dag"].get("outputs", {}).get("parameters", {}).items():
        assert oname in _defs(comp, "outputDefinitions", "parameters")
        # One producer, or (dsl.OneOf) the branches of a condition-branches DAG.
        selectors = ospec.get("valueFromOneof", {}).get("parameterSelectors") or [
            ospec["valueFromParameter"]
        ]
        for vp in selectors:
            _producer_has(
                tasks, comps, vp["producerSubtask"], "parameters", vp["outputParameterKey"]
            )
    for oname, ospec in comp["dag"].get("outputs", {}).get("artifacts", {}).items():
        assert oname in _defs(comp, "outputDefinitions", "artifacts")
        for sel in ospec["artifactSelectors"]:
            _producer_has(
                tasks, comps, sel["producerSubtask"], "artifacts", sel["outputArtifactKey"]
            )
    assert nx.is_directed_acyclic_graph(graph), f"{where}: dependency cycle"
    return used


def _producer_has(
    tasks: dict[str, Doc], comps: dict[str, Doc], task: str, kind: str, key: str
) -> None:
    assert task in tasks, f"unknown producer task {task!r}"
    comp = comps[tasks[task]["componentRef"]["name"]]
    assert key in _defs(comp, "outputDefinitions", kind), f"{task} has no output {key!r}"


def check_result(result: EmitResult) -> list[Doc]:
    """Every check on every emitted file; returns the PipelineSpecs."""
    specs = []
    for f in result.files:
        spec, _platform = parse(f.text)
        check_references(spec)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f.path
            path.write_text(f.text, encoding="utf-8")
            load_component_from_file(str(path))
        specs.append(spec)
    return specs
