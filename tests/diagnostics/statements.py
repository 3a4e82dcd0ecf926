from portaflow import pipeline, step


@step
def make(n: int = 1) -> int:
    return n


@step
def use(x: int) -> None:
    print(x)


@pipeline
def p(n: int = 3):
    x = make(n)
    while x:  # E: PF200
        use(x)
    try:  # E: PF200
        use(x)
    except Exception:
        pass
    with open("f") as fh:  # E: PF200
        use(x)
    x += 1  # E: PF202
    y = x + 1  # E: PF202
    z = x.real  # E: PF203
    s = f"{x}"  # E: PF205
    print(x)  # E: PF204
    w = x[0]  # E: PF207
    import os  # E: PF200
    del x  # E: PF200
    use(undefined_name)  # E: PF206
    a = b = make(n)  # E: PF200
    lam = lambda: 1  # E: PF201
    x  # E: PF201
    q = [make(1), make(2)]  # E: PF201
