"""What a serving process runs beside the web app: the domain re-checker joins the
embedded worker's services unless turned off, and never runs where no worker does."""

from __future__ import annotations

from pathlib import Path

from hoplink.app import default_services
from hoplink.config import load_settings
from hoplink.domains.rechecker import embedded_rechecker


def test_the_rechecker_runs_beside_the_embedded_worker_unless_turned_off(
    tmp_path: Path,
) -> None:
    on = load_settings(data_dir=tmp_path, default_domain="hop.test")
    assert embedded_rechecker in default_services(on)
    off = load_settings(data_dir=tmp_path, default_domain="hop.test", domain_recheck_enabled=False)
    assert embedded_rechecker not in default_services(off)
    assert len(default_services(off)) == len(default_services(on)) - 1
    no_worker = load_settings(data_dir=tmp_path, default_domain="hop.test", embedded_worker=False)
    assert default_services(no_worker) == []
