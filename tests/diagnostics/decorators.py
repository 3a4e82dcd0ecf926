from portaflow import Model, Resources, Retry, Schedule, pipeline, step

N = 3


def helper() -> int:
    return 1


@step(retries=Retry(max=helper()))  # E: PF300
def a() -> int:
    return 1


@step(retries=Retry(maximum=2))  # E: PF301
def b() -> int:
    return 1


@step(timeout="soon")  # E: PF302
def c() -> int:
    return 1


@step(resources=Resources(cpu=2, memory="1Gi"), colour="red")  # E: PF301
def d() -> int:
    return 1


@step(env={"A": 1})  # E: PF302
def e(*args: int) -> int:  # E: PF303
    return 1


@step(retries=Retry(backoff="sometimes"))  # E: PF302
def f() -> int:
    return 1


@pipeline(schedule=Schedule(cron="every day"), on_exit=helper, model=Model(name=""))  # E: PF302 PF305 PF302
def p(data: bytes = b"x"):  # E: PF300 PF304
    a()
    b()
    c()
    d()
    e()
    f()
    helper()  # E: PF204
