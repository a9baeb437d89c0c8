"""npm packages the tests drive (Shlink's own clients), installed by the test run.

Installed with the real npm into a cache directory outside the repository (nothing from
node_modules is ever committed), once per exact set of package versions; a test that
needs them fails, never skips, when npm is missing or the install fails.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


def cache_root() -> Path:
    configured = os.environ.get("HOPLINK_TEST_NPM_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hoplink-tests" / "npm"


def install(packages: Sequence[str]) -> Path:
    """The directory whose node_modules holds exactly ``packages`` (npm specs with
    versions); installed on first use, reused afterwards."""
    npm = shutil.which("npm")
    assert npm is not None, "npm is required for the Shlink client tests (apt-get install npm)"
    assert shutil.which("node") is not None, "node is required for the Shlink client tests"
    digest = hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:16]
    root = cache_root() / digest
    root.mkdir(parents=True, exist_ok=True)
    done = root / "installed.json"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs install once
        if done.exists() and json.loads(done.read_text()) == sorted(packages):
            return root
        (root / "package.json").write_text('{"private": true, "type": "module"}\n')
        result = subprocess.run(  # noqa: S603 - npm from PATH, our arguments
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *packages],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"npm install failed:\n{result.stdout}\n{result.stderr}"
        done.write_text(json.dumps(sorted(packages)))
    return root
