"""Online backups of the embedded SQLite database.

SQLite's backup API copies the database page by page from a read transaction. In WAL
mode that transaction is a snapshot, so writers (a running ``hoplink serve``) carry on
and the copy is the database as of one instant. The copy is made in ONE step: a backup
done in several steps restarts whenever another connection writes, which under steady
traffic could never finish. The file is written beside its final name and renamed only
once it is complete and passes ``PRAGMA quick_check``, so a half-written backup never
looks like a good one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_BUSY_TIMEOUT_MS = 10_000


class BackupFailed(Exception):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int  # bytes


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy the SQLite database at ``source`` to the new file ``target``.

    Refuses to overwrite an existing file. The result is a single self-contained file
    (rollback-journal mode, no ``-wal`` beside it) that hoplink can start from.
    """
    if not source.is_file():
        raise BackupFailed(f"no database at {source}")
    if target.exists():
        raise BackupFailed(f"{target} already exists; choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(source, timeout=_BUSY_TIMEOUT_MS / 1000)) as src:
            src.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            with contextlib.closing(sqlite3.connect(partial)) as dst:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA quick_check").fetchall()
                if check != [("ok",)]:
                    raise BackupFailed(f"the copy failed its integrity check: {check[:3]}")
        os.chmod(partial, 0o600)  # the database holds password and key hashes
        partial.rename(target)
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite could not back up {source}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=target, size=target.stat().st_size)
