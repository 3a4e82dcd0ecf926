"""`portaflow migrate`: rewrite ZenML, KFP v2 and Airflow TaskFlow pipelines into portaflow.

Source-to-source rewriting uses libcst (it keeps comments and formatting); nothing
else in portaflow imports this package, so libcst stays off every other command.
"""
