from portaflow import RunStatus, pipeline, step


@step
def load(n: int) -> int:
    return n


@step
def report(n: int = 0) -> int:
    return n


@step
def on_status(status: RunStatus, n: int = 0) -> str:
    return status.status


@pipeline
def etl(n: int):
    return load(n)


@pipeline
def p(n: int = 3, flag: bool = True, xs: list[int] = [1, 2]):
    rows = load(n)
    report(n, after=[rows], run="always")  # E: PF255
    report(n, after=[rows], run=flag)  # E: PF255
    etl(n, after=[rows], run="done")  # E: PF255
    report(n, run="done")  # E: PF256
    report(rows, after=[rows], run="failed")  # E: PF257
    if flag:
        report(n, after=[rows], run="done")  # E: PF258
    for x in xs:
        report(x, after=[rows], run="failed")  # E: PF258
    report(n, after=[rows], run="done")
    report(n, after=[rows], run="failed")
    on_status(n=n)  # E: PF259
    on_status(rows, after=[rows], run="done")  # E: PF259
    on_status(n=n, after=[rows], run="done")

