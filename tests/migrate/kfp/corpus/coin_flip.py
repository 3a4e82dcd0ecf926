"""Conditions with dsl.If / dsl.Elif / dsl.Else (KFP docs, "Control flow")."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def flip_three_sided_coin(seed: int) -> str:
    import random

    return random.Random(seed).choice(["heads", "tails", "draw"])


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def print_and_return(text: str) -> str:
    print(text)
    return text


@dsl.pipeline(name="coin-flip")
def flip_coin_pipeline(seed: int = 7):
    flip_coin_task = flip_three_sided_coin(seed=seed)
    with dsl.If(flip_coin_task.output == "heads"):  # the likely case
        print_and_return(text="Got heads!")
    # tails gets its own branch
    with dsl.Elif(flip_coin_task.output == "tails"):
        print_and_return(text="Got tails!")
    with dsl.Else():
        print_and_return(text="Draw!")
