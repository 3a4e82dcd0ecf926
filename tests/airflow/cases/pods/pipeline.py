"""Pod settings: image, resources with a GPU, node selector, tolerations, env and secrets."""

from portaflow import Resources, Retry, pipeline, step


@step(
    image="ghcr.io/acme/train:1.4",
    resources=Resources(
        cpu=2,
        memory="4Gi",
        gpu=1,
        node_selector={"pool": "gpu"},
        tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
    ),
    env={"OMP_NUM_THREADS": "2", "TEMPLATE": "{{ ds }}"},
    secrets=["aws-creds"],
    retries=Retry(max=3, backoff="exponential", delay="10s", max_delay="5m"),
    timeout="1h",
)
def train(n: int = 1) -> int:
    return n * 2


@step
def report(value: int) -> str:
    return f"value={value}"


@pipeline
def pods(n: int = 3):
    report(train(n))
