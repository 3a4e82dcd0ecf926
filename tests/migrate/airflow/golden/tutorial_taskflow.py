"""Tutorial TaskFlow DAG."""

import json

import pendulum

from typing import Annotated
from portaflow import pipeline, step


@step
def extract() -> dict:
    """
    #### Extract task
    """
    data_string = '{"1001": 301.27, "1002": 433.21, "1003": 502.22}'

    order_data_dict = json.loads(data_string)
    return order_data_dict


@step
def transform(order_data_dict: dict) -> Annotated[float, "total_order_value"]:
    """
    #### Transform task
    """
    total_order_value = 0

    for value in order_data_dict.values():
        total_order_value += value

    return total_order_value


@step
def load(total_order_value: float) -> None:
    """
    #### Load task
    """

    print(f"Total order value is: {total_order_value:.2f}")


@pipeline
def tutorial_taskflow_api():
    """
    ### TaskFlow API Tutorial Documentation
    """

    # [START main_flow]
    order_data = extract()
    order_summary_total_order_value = transform(order_data)
    load(order_summary_total_order_value)
    # [END main_flow]


# [START dag_invocation]
# [END dag_invocation]
