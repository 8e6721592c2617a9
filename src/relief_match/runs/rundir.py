"""Run directories, their atomic publication, the list of runs and retention.

Layout of an output directory ``OUT``::

    OUT/runs/<as_of>T<HHMMSS>-<id>/   one directory per run (mode 0700)
    OUT/latest -> runs/<run id>       the last complete `run`, replaced atomically
    OUT/latest.json                   run id, path, as_of, finished_at, status
    OUT/latest-validate, latest-link  the same for the `validate` and `link` commands

A run writes only into its own directory. Only when it has completed is
``latest`` switched to it (a new symlink under a temporary name, then
``os.replace``), so ``OUT/latest/flags.csv`` is always a whole list of a
complete run. A failed run's directory says ``"status": "failed"`` in its
``run_summary.json``; a killed one still says ``"running"`` with a PID that
no longer holds the lock, and :func:`list_runs` reports it as ``killed``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from relief_match.runs.files import PRIVATE_DIR, SHARED, fsync_dir, read_json, write_json
from relief_match.runs.lock import holder, pid_alive

RUNS = "runs"
SUMMARY = "run_summary.json"


def latest_name(command: str) -> str:
    """The symlink a completed ``command`` publishes: ``latest`` for ``run``."""
    return "latest" if command == "run" else f"latest-{command}"


def new_run_dir(out: Path, as_of: date, now: datetime | None = None) -> Path:
    """Create ``OUT/runs/<as_of>T<HHMMSS>-<id>`` (mode 0700) and return it."""
    now = now or datetime.now()
    runs = out / RUNS
    runs.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    while True:
        path = runs / f"{as_of.isoformat()}T{now:%H%M%S}-{secrets.token_hex(3)}"
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # pragma: no cover - 1 in 16 M
            continue
        os.chmod(path, PRIVATE_DIR)
        return path


def publish(out: Path, run_dir: Path, command: str, info: dict[str, Any]) -> Path:
    """Point ``OUT/latest`` (or ``latest-<command>``) at ``run_dir``, atomically.

    Writes ``<link>.json`` first (temp file + fsync + rename), then replaces the
    symlink; both replace whatever is at their path without following it.
    """
    name = latest_name(command)
    write_json(out / f"{name}.json", {**info, "path": str(run_dir.resolve())}, SHARED)
    tmp = out / f".{name}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(Path(RUNS) / run_dir.name, tmp)
    os.replace(tmp, out / name)
    fsync_dir(out)
    return out / name


def published(out: Path) -> set[str]:
    """Names of the run directories a ``latest*`` symlink points to."""
    names = set()
    for link in out.glob("latest*"):
        if link.is_symlink():
            names.add(Path(os.readlink(link)).name)
    return names


@dataclass(frozen=True)
class RunInfo:
    """One run directory, as ``relief-match runs`` lists it."""

    run_id: str
    path: Path
    command: str
    as_of: str
    started_at: str
    status: str  # completed | failed | running | killed | incomplete
    exit_code: int | None
    flags: int | None
    seconds: float | None
    published: bool

    def asdict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "path": str(self.path)}


def _status(out: Path, run_id: str, summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "incomplete"
    status = str(summary.get("status", "incomplete"))
    if status == "running":
        h = holder(out) or {}
        if not (pid_alive(summary.get("pid")) and h.get("run_id") == run_id):
            return "killed"
    return status


def list_runs(out: Path) -> list[RunInfo]:
    """Every run directory under ``OUT/runs``, newest first."""
    runs_dir = out / RUNS
    if not runs_dir.is_dir():
        return []
    live = published(out)
    found = []
    for path in runs_dir.iterdir():
        if not path.is_dir() or path.is_symlink():
            continue
        summary = read_json(path / SUMMARY)
        s = summary or {}
        files = (s.get("output") or {}).get("files") or {}
        found.append(
            RunInfo(
                run_id=path.name,
                path=path,
                command=str(s.get("command", "?")),
                as_of=str(s.get("as_of", path.name[:10])),
                started_at=str(s.get("started_at", "")),
                status=_status(out, path.name, summary),
                exit_code=s.get("exit_code"),
                flags=files.get("flags.csv"),
                seconds=s.get("seconds"),
                published=path.name in live,
            )
        )
    return sorted(found, key=lambda r: (r.started_at, r.run_id), reverse=True)


def _started(run: RunInfo) -> datetime:
    try:
        return datetime.fromisoformat(run.started_at)
    except ValueError:
        return datetime.fromtimestamp(run.path.stat().st_mtime)


def prune(out: Path, keep_days: int, now: datetime | None = None) -> list[str]:
    """Delete run directories that started more than ``keep_days`` days ago.

    Never deletes a run a ``latest*`` symlink points to, nor one still running.
    The caller holds ``out``'s lock. ``keep_days=0`` deletes every other run.
    """
    cutoff = (now or datetime.now()) - timedelta(days=keep_days)
    removed = []
    for run in list_runs(out):
        if run.published or run.status == "running" or _started(run) > cutoff:
            continue
        shutil.rmtree(run.path)
        removed.append(run.run_id)
    return removed
