"""KFP constructs migrate leaves for a person, each with its code on its line."""

from kfp import Client, dsl
from kfp.dsl import Dataset, Input, Output, OutputPath


@dsl.container_component  # E: PF800
def shell():
    return dsl.ContainerSpec(image="alpine", command=["echo", "hi"])


@dsl.component(packages_to_install=["pandas"], target_image="gcr.io/x/y")  # W: PF801 PF806
def make(rows: int, out: Output[Dataset]):  # E: PF802
    with open(out.path, "w") as f:
        f.write(str(rows))
    print(out.uri)


@dsl.component
def legacy(out_path: OutputPath(str)):  # E: PF802
    with open(out_path, "w") as f:
        f.write("x")


@dsl.component
def consume(data: Input[Dataset]) -> int:  # E: PF802
    return 1


@dsl.component
def split(n: int) -> NamedTuple("Outputs", [("a", int), ("b", int)]):
    return n, n


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def total(values: list) -> int:
    return sum(values)


@dsl.pipeline(name="leftovers", pipeline_root="gs://bucket")  # W: PF806
def leftovers(xs: list = [1, 2]):
    s = split(n=1)
    square(x=s.output)  # E: PF809
    square(x=s.outputs["c"])  # E: PF809
    square(x=2).set_display_name("two")  # W: PF803
    square(x=3).add_node_selector_constraint("cloud.google.com/gke-accelerator")  # E: PF803
    square(x=4).set_cpu_limit("2")  # E: PF804
    with dsl.ParallelFor(xs, parallelism=2) as x:  # W: PF806
        sq = square(x=x)
        square(x=sq.output)
    total(values=dsl.Collected(sq.output))  # E: PF805
    with dsl.ExitHandler(exit_task=square(x=1)):  # E: PF800
        square(x=5)
    with dsl.ParallelFor(xs) as x:
        with dsl.Condition(x == 1):
            square(x=x)
    with dsl.ExitHandler(square(x=9)):  # E: PF800
        square(x=6)


Client().create_run_from_pipeline_func(leftovers, arguments={})  # E: PF807
