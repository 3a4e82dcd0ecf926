"""Stable diagnostic codes of the Airflow backend (PF700-PF799), listed in docs/backends/airflow.md."""

from __future__ import annotations

#: A setting the backend does not know (e.g. an unknown `airflow_operator`).
BAD_OPTION = "PF701"
#: A fan-out nested deeper than Airflow's dynamic task mapping is emitted for.
LOOP_DEPTH = "PF702"
#: A hook reads a task output; hooks run after the DAG and take only parameters and literals.
HOOK_INPUT = "PF703"
#: An artifact input bound to a parameter or a literal.
ARTIFACT_LITERAL = "PF704"
#: A pipeline parameter whose default is not a JSON value Airflow's Param accepts.
PARAM_TYPE = "PF705"

#: Loop nesting the backend emits (Airflow maps one level; deeper chains are flattened).
MAX_LOOP_DEPTH = 2
