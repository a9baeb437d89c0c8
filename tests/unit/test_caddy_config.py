"""The ready Caddyfiles in deploy/caddy are valid for the Caddy Debian ships.

``scripts/test`` installs Debian's ``caddy`` (as it does chromium); without it this test
fails rather than skips: ``apt-get install caddy``, or validate by hand with
``caddy validate --adapter caddyfile --config deploy/caddy/Caddyfile.custom-domains``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ["deploy/caddy/Caddyfile", "deploy/caddy/Caddyfile.custom-domains"]


@pytest.mark.parametrize("name", FILES)
def test_caddy_validates_the_config(name: str, tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    assert caddy is not None, "caddy is missing: apt-get install caddy (scripts/test does)"
    env = {
        **os.environ,
        "HOPLINK_DEFAULT_DOMAIN": "hop.example.com",
        "HOME": str(tmp_path),  # caddy keeps its storage there; never the user's
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(  # noqa: S603 - a fixed command on our own file
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(ROOT / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Valid configuration" in done.stdout + done.stderr


def test_the_custom_domains_config_asks_hoplink_before_any_certificate() -> None:
    text = (ROOT / "deploy/caddy/Caddyfile.custom-domains").read_text()
    assert "/tls/ask" in text and "on_demand" in text
