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


def test_env_wins_over_the_stack_and_empty_env_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(None) is None
    assert tracking_uri("http://stack:5000") == "http://stack:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert tracking_uri("http://stack:5000") == "http://env:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert tracking_uri("http://stack:5000") is None
