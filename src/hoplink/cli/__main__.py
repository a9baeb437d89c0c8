"""``python -m hoplink.cli`` — the same as the ``hoplink`` script."""

from hoplink.cli.main import app

app(prog_name="hoplink")
