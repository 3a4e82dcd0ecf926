from portaflow import Resources, SecretEnv, Volume, pipeline, step


@step(volumes=[Volume.empty_dir("/data"), Volume.pvc("/data", claim="datasets")])  # E: PF260
def twice_mounted() -> int:
    return 1


@step(
    env={"API_TOKEN": "x"},
    secrets=[SecretEnv(secret="api", key="token", env="API_TOKEN")],  # E: PF261
)
def twice_set() -> int:
    return 1


@step(volumes=[Volume.empty_dir("data")])  # E: PF302
def relative_mount() -> int:
    return 1


@step(volumes=[Volume.empty_dir("/shm", medium="Disk")])  # E: PF302
def unknown_medium() -> int:
    return 1


@step(volumes=[Volume.pvc("/data")])  # E: PF302
def no_claim() -> int:
    return 1


@step(volumes=[Volume.pvc("/data", claim="Not_A_Name")])  # E: PF302
def bad_claim() -> int:
    return 1


@step(volumes=[Volume.pvc("/data", claim="ok", size=3)])  # E: PF301
def unknown_option() -> int:
    return 1


@step(secrets=[SecretEnv(secret="api", key="token", env="1TOKEN")])  # E: PF302
def bad_env_name() -> int:
    return 1


@step(secrets=[SecretEnv(secret="API", key="token", env="TOKEN")])  # E: PF302
def bad_secret_name() -> int:
    return 1


@step(secrets=[SecretEnv(secret="api", key="token")])  # E: PF302
def no_env() -> int:
    return 1


@step(resources=Resources(cpu=2, cpu_limit="500m"))  # E: PF302
def limit_below_request() -> int:
    return 1


@step(resources=Resources(memory="1Gi", memory_limit="2Gi", cpu_limit=4))
def fine_limits() -> int:
    return 1


@step(
    volumes=[Volume.empty_dir("/dev/shm", medium="Memory"), Volume.pvc("/data", claim="ds")],
    secrets=["aws-creds", SecretEnv(secret="api", key="token", env="API_TOKEN")],
)
def fine_pod() -> int:
    return 1


@pipeline
def pod_features():
    twice_mounted()
    twice_set()
    relative_mount()
    unknown_medium()
    no_claim()
    bad_claim()
    unknown_option()
    bad_env_name()
    bad_secret_name()
    no_env()
    limit_below_request()
    fine_limits()
    fine_pod()
