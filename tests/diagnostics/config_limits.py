from portaflow import Resources, Retry, Schedule, pipeline, step


@step(timeout=1e999)  # E: PF106 PF302
def forever() -> int:
    return 1


@step(timeout="99999999999d")  # E: PF302
def ages() -> int:
    return 1


@step(retries=99999999999999999999)  # E: PF302
def stubborn() -> int:
    return 1


@step(resources=Resources(gpu=99999999999))  # E: PF302
def greedy() -> int:
    return 1


@step(resources=Resources(cpu="nan", memory="4GB"))  # E: PF302 PF302
def hungry() -> int:
    return 1


@step(resources=Resources(cpu=-1.5, memory="500m", disk="1e3"))  # E: PF302
def negative() -> int:
    return 1


@step(resources=Resources(cpu="0.5", memory="4Gi", disk="10G", gpu=1), timeout="2d")
def fine() -> int:
    return 1


@pipeline(schedule=Schedule(cron="0 3 * * *", starting_deadline_seconds=4294967296))  # E: PF302
def limits():
    forever()
    ages()
    stubborn()
    greedy()
    hungry()
    negative()
    fine()
