"""Tools that are not Python as steps: `container_step` runs a command in an image.

The command is an argv list, never a shell string: `{text}` is replaced by the
input's value as one argv item, `{outputs.words}` by the path of the file the
command writes the output to. Here `sh -c` runs a fixed script that reads the
value as `$1`, so the text is data, never code. Locally the command runs as a
subprocess (the image is used on Kubernetes targets only).
"""

from portaflow import container_step, pipeline, step

count_words = container_step(
    name="count-words",
    image="busybox:1.36",
    command=["sh", "-c", 'printf "%s" "$1" | wc -w > "$2"', "count", "{text}", "{outputs.words}"],
    inputs={"text": str},
    outputs={"words": int},
)

shout = container_step(
    name="shout",
    image="busybox:1.36",
    command=[
        "sh",
        "-c",
        'printf "%s" "$1" | tr a-z A-Z > "$2"',
        "shout",
        "{text}",
        "{outputs.loud}",
    ],
    inputs={"text": str},
    outputs={"loud": str},
)


@step
def report(words: int, loud: str) -> str:
    """Say what the tools found."""
    message = f"{loud} ({words} words)"
    print(message)
    return message


@pipeline
def container_tools(text: str = "tools that are not python"):
    """Count and shout a text with shell tools, then report in Python."""
    words = count_words(text=text)
    loud = shout(text=text)
    report(words, loud)
