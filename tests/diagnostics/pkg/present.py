from portaflow import step


@step
def real() -> int:
    return 1
