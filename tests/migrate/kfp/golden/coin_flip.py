"""Conditions with dsl.If / dsl.Elif / dsl.Else (KFP docs, "Control flow")."""

from portaflow import pipeline, step


@step(image="python:3.11")
def flip_three_sided_coin(seed: int) -> str:
    import random

    return random.Random(seed).choice(["heads", "tails", "draw"])


@step(image="python:3.11")
def print_and_return(text: str) -> str:
    print(text)
    return text


@pipeline(name="coin-flip")
def flip_coin_pipeline(seed: int = 7):
    flip_coin_task = flip_three_sided_coin(seed=seed)
    if flip_coin_task == "heads":  # the likely case
        print_and_return(text="Got heads!")
    # tails gets its own branch
    elif flip_coin_task == "tails":
        print_and_return(text="Got tails!")
    else:
        print_and_return(text="Draw!")
