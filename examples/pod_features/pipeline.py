"""Kubernetes pod features: scratch and shared-memory volumes, a claim, a secret key, limits.

On a cluster the volumes are mounted and API_TOKEN comes from key `token` of the
secret `api`; `portaflow run` gives each volume a folder and reads API_TOKEN from
the environment or the stack's env_file. `volume_path` finds the folder on both.
"""

import os

from portaflow import Resources, SecretEnv, Volume, pipeline, step, volume_path


@step(
    volumes=[Volume.empty_dir("/scratch", medium="Memory", size_limit="64Mi")],
    resources=Resources(cpu="250m", memory="128Mi", cpu_limit=1, memory_limit="256Mi"),
)
def write_shards(n: int = 4) -> int:
    """Write n shard files to scratch space and count the bytes written."""
    scratch = volume_path("/scratch")
    total = 0
    for i in range(n):
        shard = scratch / f"shard-{i}.txt"
        shard.write_text(str(i) * (i + 1))
        total += shard.stat().st_size
    return total


@step(
    volumes=[Volume.empty_dir("/dev/shm", medium="Memory"), Volume.pvc("/data", claim="datasets")],
    secrets=[SecretEnv(secret="api", key="token", env="API_TOKEN")],
)
def publish(size: int) -> str:
    """Record the size under the data volume; say whether a token is set, never its value."""
    (volume_path("/data") / "last-size.txt").write_text(str(size))
    print("API token configured:", "yes" if os.environ.get("API_TOKEN") else "no")
    return f"published {size} bytes"


@pipeline
def pod_features(n: int = 4):
    """Write shards to a memory-backed scratch volume, then publish their size."""
    publish(write_shards(n))
