"""Logging for people and for schedulers, never with an ID number in it.

Console (stderr), by ``log_format``:

* ``json``: one JSON object per line: ``ts``, ``level``, ``stage``, ``event``,
  ``message`` and the event's fields (counts, ``seconds``, ``peak_rss_mb``,
  ``status``, ``exit_code``...);
* ``text``: ``HH:MM:SS LEVEL [stage] message``;
* ``auto`` (default): rich output (coloured lines, a spinner naming the
  current stage) on a terminal, ``json`` otherwise, so cron and systemd get
  parseable lines.

``run.log`` in the run directory always gets the JSON lines. Every handler
has a :class:`MaskingFilter`: whatever a message, its arguments or a traceback
contain, ID-number-shaped digits are masked before anything is written.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from relief_match.privacy import mask_ids_in_text

ROOT = "relief_match"
#: The stage the process is in (``ingest``, ``link``...), added to every record.
current_stage: ContextVar[str] = ContextVar("relief_match_stage", default="")

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "rm"}


def event(name: str, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a structured log record: ``log.info(msg, extra=event("x", n=1))``."""
    return {"rm": {"event": name, **fields}}


class MaskingFilter(logging.Filter):
    """Renders the message, masks ID numbers in it and in the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_ids_in_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_ids_in_text(record.exc_text)
        record.exc_info = None
        if not getattr(record, "stage", None):
            record.stage = current_stage.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "rm", {}) or {}
        obj: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "stage": getattr(record, "stage", "") or None,
            "event": fields.get("event", "log"),
            "message": record.getMessage(),
            "logger": record.name,
        }
        obj.update({k: v for k, v in fields.items() if k != "event"})
        if record.exc_text:
            obj["traceback"] = record.exc_text
        return mask_ids_in_text(json.dumps(obj, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL [stage] message``."""

    def format(self, record: logging.LogRecord) -> str:
        stage = getattr(record, "stage", "")
        line = (
            f"{datetime.fromtimestamp(record.created):%H:%M:%S} {record.levelname:<7}"
            f" {'[' + stage + '] ' if stage else ''}{record.getMessage()}"
        )
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to whatever ``sys.stderr`` is at the time."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _tagged(handler: logging.Handler, tag: str) -> logging.Handler:
    handler.addFilter(MaskingFilter())
    handler.set_name(tag)
    return handler


def resolve_format(log_format: str) -> str:
    """``auto`` -> ``rich`` on a terminal, ``json`` otherwise."""
    if log_format != "auto":
        return log_format
    return "rich" if sys.stderr.isatty() else "json"


def setup_console(log_format: str = "auto", level: str = "INFO") -> str:
    """(Re)configure the console handler of the ``relief_match`` logger; returns the format used."""
    root = logging.getLogger(ROOT)
    root.setLevel(logging.DEBUG)
    root.propagate = False
    for h in [h for h in root.handlers if h.get_name() == "console"]:
        root.removeHandler(h)
        h.close()
    fmt = resolve_format(log_format)
    handler: logging.Handler
    if fmt == "rich":
        from rich.logging import RichHandler

        from relief_match.runs.progress import console

        handler = RichHandler(
            console=console(), show_path=False, markup=False, log_time_format="%H:%M:%S"
        )
    else:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.setLevel(level)
    root.addHandler(_tagged(handler, "console"))
    return fmt


def console_configured() -> bool:
    """Whether :func:`setup_console` has run in this process."""
    return any(h.get_name() == "console" for h in logging.getLogger(ROOT).handlers)


def attach_run_log(path: Path, level: str = "DEBUG") -> logging.Handler:
    """Send every record (JSON lines) to ``path`` too; detach with :func:`detach`."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)
    logging.getLogger(ROOT).addHandler(_tagged(handler, "run.log"))
    return handler


def detach(handler: logging.Handler) -> None:
    """Remove and close a handler added by :func:`attach_run_log`."""
    logging.getLogger(ROOT).removeHandler(handler)
    handler.close()
