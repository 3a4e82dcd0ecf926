"""Hostile strings stay data: Jinja, quotes, newlines, backslashes, code; and a join after if/else."""

from portaflow import pipeline, step


@step(name="echo {{ ds }} \"'")
def echo(text: str) -> str:
    return text


@step
def pick(n: int) -> bool:
    return n > 1


@step
def big() -> str:
    return "big"


@step
def small() -> str:
    return "small"


@step
def join(left: str, right: str) -> str:
    return left + "+" + right


@step
def done() -> str:
    return "done"


@pipeline(name="hostile {{ dag_run.conf }}")
def hostile(
    text: str = "{{ ti.xcom_push(key='x', value=1) }} {% raw %}'''\"\"\"\n\\ __import__('os').system('id') é 😀",
    n: int = 2,
):
    """Doc with {{ macros.ds_add(ds, 1) }} and ''' quotes."""
    a = echo(text)
    b = echo("{{ var.value.secret }}\n$(id) `id`")
    if pick(n):
        c = big()
    else:
        d = small()
    join(a, b)
    done(after=[c, d])
