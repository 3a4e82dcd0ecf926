"""`python -m portaflow.backends.local run|runs|models ...`: the local commands without the main CLI."""

from __future__ import annotations

import click

from .cli import models_group, run_cmd, runs_group


@click.group()
def main() -> None:
    """portaflow's local runner."""


main.add_command(run_cmd)
main.add_command(runs_group)
main.add_command(models_group)

if __name__ == "__main__":
    main()
