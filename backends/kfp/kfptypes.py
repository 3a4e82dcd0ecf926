"""KFP names and types for IR values: parameter types, artifact schemas, task and channel names.

Parameter types follow `ParameterType.ParameterTypeEnum` of kfp-pipeline-spec
(https://github.com/kubeflow/pipelines/blob/master/api/v2alpha1/pipeline_spec.proto);
artifact types are KFP's system schemas (`system.Dataset`, `system.Model`, `system.Artifact`).
"""

from __future__ import annotations

import hashlib
import re

from portaflow.compiler import ir

_SCALARS = {
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "str": "STRING",
    "bool": "BOOLEAN",
}
#: Python annotation the generated lightweight component gives each parameter type.
PY_TYPES = {
    "NUMBER_INTEGER": "int",
    "NUMBER_DOUBLE": "float",
    "STRING": "str",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "dict",
}
_DATASET = ("pandas.", "numpy.", "polars.", "pyarrow.", "DataFrame", "ndarray", "Series")
_MODEL = ("sklearn.", "torch.", "xgboost.", "lightgbm.", "keras.", "tensorflow.", "Model")
_MODEL_SUFFIX = ("Regressor", "Classifier", "Estimator", "Pipeline", "Booster", "Module")


def param_type(typ: str) -> str:
    """The KFP parameter type of a normalised IR type ("int | null" -> NUMBER_INTEGER)."""
    if typ.endswith(" | null"):
        typ = typ[: -len(" | null")]
    found = _SCALARS.get(typ)
    if found is not None:
        return found
    if typ.startswith("list["):
        return "LIST"
    # dicts, "any", unions and null: a JSON value of any shape travels as a STRUCT.
    return "STRUCT"


def element_type(typ: str) -> str:
    """The IR type of one element of a list type ("list[int]" -> "int"; else "any")."""
    if typ.startswith("list[") and typ.endswith("]"):
        return typ[5:-1]
    return "any"


def value_type(value: ir.JSONValue) -> str:
    """The IR type of a literal value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list[any]"
    return "any"


def artifact_schema(typ: str) -> str:
    """The KFP artifact schema title for an IR artifact type."""
    if any(m in typ for m in _MODEL) or typ.endswith(_MODEL_SUFFIX):
        return "system.Model"
    if any(m in typ for m in _DATASET):
        return "system.Dataset"
    return "system.Artifact"


def artifact_type(typ: str) -> dict[str, str]:
    return {"schemaTitle": artifact_schema(typ), "schemaVersion": "0.0.1"}


#: Python class the generated component annotates an artifact schema with.
PY_ARTIFACTS = {"system.Model": "Model", "system.Dataset": "Dataset", "system.Artifact": "Artifact"}

_NOT_NAME = re.compile(r"[^a-z0-9]+")


def dns(text: str) -> str:
    """A KFP task name: lower-case letters, digits and single dashes."""
    return _NOT_NAME.sub("-", text.lower()).strip("-") or "task"


#: File names stay well inside the 255 bytes file systems allow.
MAX_STEM = 100


def file_stem(name: str) -> str:
    """The output file's name (without `.yaml`) for a pipeline: its KFP name, bounded in length;
    a shortened name keeps a digest of the full one, so two long names do not collide."""
    stem = dns(name)
    if len(stem) <= MAX_STEM:
        return stem
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{stem[: MAX_STEM - 9].rstrip('-')}-{digest}"


def output_key(name: str) -> str:
    """The KFP output key of a step output: `output` is KFP's `Output`, others keep their names."""
    return "Output" if name == "output" else name


class Namer:
    """Unique names in one namespace, first come first served, `-2`, `-3`... on clashes."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def name(self, raw: str) -> str:
        base = dns(raw)
        out, n = base, 1
        while out in self.taken:
            n += 1
            out = f"{base}-{n}"
        self.taken.add(out)
        return out
