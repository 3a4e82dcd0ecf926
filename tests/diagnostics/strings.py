from portaflow import pipeline, step


@step
def show(text: str = "\ud83d\ude00") -> None:  # E: PF107
    """Shows text."""
    print(text)


@pipeline
def strings(label: str = "ok"):
    show(label)
    show("\ud800")  # E: PF107
    show(text="fine \u2028 \x00 $(HOME)")
