from portaflow import pipeline, step


@step
def make(n: int = 1, f: float = 0.5) -> int:
    return n


@pipeline
def numbers(n: int = 3, big: int = 123456789012345678901234567890):
    make(n, f=1e999)  # E: PF106
    make(n=big, f=-2e400)  # E: PF106
    make(n=-9223372036854775808, f=1.5e308)
