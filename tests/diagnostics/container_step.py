from portaflow import container_step, pipeline

positional = container_step("x", name="x", image="busybox", command=["true"])  # E: PF262
no_image = container_step(name="x", command=["true"])  # E: PF262
unknown_option = container_step(name="x", image="busybox", command=["true"], shell=True)  # E: PF262
not_a_dict = container_step(name="x", image="busybox", command=["true"], inputs=["a"])  # E: PF263
bad_type = container_step(name="x", image="b", command=["cat", "{a}"], inputs={"a": list})  # E: PF264
shell_string = container_step(name="x", image="busybox", command="wc -l data.txt")  # E: PF265
bad_placeholder = container_step(name="x", image="busybox", command=["echo", "{a!r}"], inputs={"a": str})  # E: PF266
unknown_input = container_step(name="x", image="busybox", command=["echo", "{b}"], inputs={"a": str})  # E: PF267
unwritten = container_step(name="x", image="busybox", command=["true"], outputs={"n": int})  # E: PF268
fine = container_step(
    name="fine", image="busybox", command=["cp", "{src}", "{outputs.copy}", "{{literal}}"],
    inputs={"src": str}, outputs={"copy": str},
)


@pipeline
def containers():
    positional()
    no_image()
    unknown_option()
    not_a_dict()
    bad_type(a=[1])
    shell_string()
    bad_placeholder(a="x")
    unknown_input(a="x")
    unwritten()
    fine(src="/etc/hostname")
