"""What a run becomes in MLflow, without a server: names, parameter text, metrics, the URI setting."""

from __future__ import annotations

import math

import pytest

from portaflow.backends.local.mlflowlog import (
    PARAM_CHARS,
    execution_metrics,
    metric_name,
    param_text,
    tracking_uri,
)


def test_params_are_text_json_for_non_strings_and_cut_at_mlflows_limit() -> None:
    assert param_text("eu") == "eu"
    assert param_text(10) == "10"
    assert param_text(None) == "null"
    assert param_text({"b": 1, "a": [True]}) == '{"a": [true], "b": 1}'
    long = param_text("x" * 10_000)
    assert len(long) == PARAM_CHARS == 6000 and long.endswith("…")


def test_metric_names_mlflow_rejects_are_rewritten() -> None:
    assert metric_name("ks_pvalue_f0") == "ks_pvalue_f0"
    assert metric_name("loss/val 1.5-x") == "loss/val 1.5-x"
    assert metric_name("score[0]:ä") == "score_0___"


def test_metric_history_is_logged_at_its_steps_else_the_value_at_step_zero() -> None:
    meta = {
        "metrics": {"loss": 0.1, "rmse": 3.5, "bad": "text", "gone": "nan", "none": None},
        "metric_history": {"loss": [{"step": 0, "value": 0.9}, {"step": 1, "value": 0.1}]},
    }
    got = execution_metrics(meta)
    assert got[1:] == [("loss", 0.9, 0), ("loss", 0.1, 1), ("rmse", 3.5, 0)]
    (name, value, step) = got[0]  # the runtime stores a NaN as "nan"
    assert (name, step) == ("gone", 0) and math.isnan(value)
    assert len(got) == 4  # a value that is not a number is not a metric


def test_env_wins_over_the_stack_and_empty_env_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(None) is None
    assert tracking_uri("http://stack:5000") == "http://stack:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert tracking_uri("http://stack:5000") == "http://env:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert tracking_uri("http://stack:5000") is None


def test_a_cancelled_run_is_killed_and_steps_that_never_ran_are_not_runs() -> None:
    from pathlib import Path

    from portaflow.backends.local import RunResult
    from portaflow.backends.local.mlflowlog import plan
    from portaflow.backends.local.result import ExecutionResult
    from portaflow.compiler import compile_file

    examples = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    pipeline = compile_file(examples / "pipeline.py", root=examples)
    param = {"param": 2}
    result = RunResult(
        run_id="quickstart-1",
        pipeline="quickstart",
        status="cancelled",
        store=Path("/s"),
        params={"count": 2, "label": "x"},
        executions=(
            ExecutionResult(
                key="make_numbers",
                task="make_numbers",
                state="succeeded",
                started=10.0,
                finished=11.0,
                inputs={"count": param},
            ),
            ExecutionResult(
                key="square[0]", task="square", state="cancelled", started=11.0, finished=12.5
            ),
            ExecutionResult(key="square[1]", task="square", state="skipped"),
            ExecutionResult(key="total", task="total", state="upstream_failed"),
        ),
    )
    parent, children = plan(result, pipeline, [], created=9.0)
    assert (parent.status, parent.start_ms, parent.end_ms) == ("KILLED", 9000, 12500)
    assert parent.params == {"count": "2", "label": "x"}
    assert [(c.name, c.status, c.start_ms, c.end_ms) for c in children] == [
        ("make_numbers", "FINISHED", 10000, 11000),
        ("square[0]", "KILLED", 11000, 12500),
    ]
    assert children[0].params == {"count": "2"}
    code_hash = {s.ref: s.code_hash for s in pipeline.steps}
    assert children[1].tags["portaflow.code_hash"] == code_hash[children[1].tags["portaflow.step"]]
