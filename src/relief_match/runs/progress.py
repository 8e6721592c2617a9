"""Stages of a run: start and end lines with counts, timings, peak memory, a spinner.

:class:`StageClock` is what a command wraps each long stage in::

    with clock.stage("link", "linking people") as counts:
        rep = run_linking(...)
        counts["links"] = rep.n_links

It logs ``stage_start`` and ``stage_end`` events (the latter with the counts,
``seconds`` and ``peak_rss_mb``: the process's peak resident memory so far,
from ``getrusage``), keeps the timings for the manifest, and on a terminal
shows a rich spinner naming the stage and its current step.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rich.console import Console
from rich.status import Status

from relief_match.runs.logs import current_stage, event

log = logging.getLogger("relief_match.run")


@cache
def console() -> Console:
    """The one stderr console the spinner and the rich log lines share."""
    return Console(stderr=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@dataclass
class StageClock:
    """Times the stages of one command; ``spinner`` shows them on a terminal."""

    spinner: bool = False
    timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    _status: Status | None = None

    @contextmanager
    def stage(self, name: str, message: str) -> Iterator[dict[str, Any]]:
        """Log the start and end of stage ``name``; yield a dict for its counts."""
        token = current_stage.set(name)
        counts: dict[str, Any] = {}
        log.info(message, extra=event("stage_start"))
        if self.spinner:
            self._status = console().status(f"[bold]{name}[/bold]: {message}")
            self._status.start()
        t0 = time.perf_counter()
        ok = False
        try:
            yield counts
            ok = True
        finally:
            if self._status is not None:
                self._status.stop()
                self._status = None
            seconds = round(time.perf_counter() - t0, 2)
            timing = {"seconds": seconds, "peak_rss_mb": peak_rss_mb()}
            self.timings[name] = {**timing, **({} if ok else {"failed": True})}
            shown = ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items()
            )
            log.info(
                f"{name} {'done' if ok else 'stopped'} in {seconds:.1f}s"
                + (f": {shown}" if shown else ""),
                extra=event("stage_end" if ok else "stage_failed", **counts, **timing),
            )
            current_stage.reset(token)

    def step(self, text: str) -> None:
        """Show the current step of the running stage (spinner) and log it at DEBUG."""
        log.debug(text, extra=event("step"))
        if self._status is not None:
            self._status.update(f"[bold]{current_stage.get()}[/bold]: {text}")
