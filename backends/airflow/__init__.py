"""The Apache Airflow 3 backend: IR -> one DAG file per pipeline (`airflow.sdk` API).

`emit` lives in `emit.py` (the BACKENDS table names it directly); `operators.py`
holds the operators the generated DAG files import on Airflow's side. This
package imports nothing at import time, so a DAG file importing the operators
pulls neither jinja2 nor the compiler.
"""
