"""Stable diagnostic codes of the Airflow backend (PF700-PF799), listed in docs/backends/airflow.md."""

from __future__ import annotations

#: A setting the backend does not know (e.g. an unknown `airflow_operator`).
BAD_OPTION = "PF701"
#: A hook reads a task output; hooks run after the DAG and take only parameters and literals.
HOOK_INPUT = "PF702"
#: An artifact input bound to a parameter or a literal.
ARTIFACT_LITERAL = "PF703"
#: A bounded fan-out (`parallel(xs, limit=N)`) around another loop: Airflow bounds mapped
#: instances per task, not iterations of an outer loop.
BOUNDED_OUTER = "PF720"

#: A container_step in the kubernetes flavour, whose pod could not hand its output files to XCom.
CONTAINER_STEP = "PF731"
#: A step's `packages=` in a DAG without a code package to install them with (warning).
PACKAGES_IGNORED = "PF732"
#: `model_version(...)` in the kubernetes flavour without a stack store URL for the pod to read.
MODEL_VERSION = "PF733"
