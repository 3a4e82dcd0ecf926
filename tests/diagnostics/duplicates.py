from portaflow import pipeline, step


@step
def one() -> int:
    return 1


@pipeline(name="same")
def first():
    one()


@pipeline(name="same")
def second():  # E: PF111 PF113
    one()
