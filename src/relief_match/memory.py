"""How much memory DuckDB may use: the ``memory_limit`` setting against the
memory the process can really have.

DuckDB only sees physical RAM; a container's cgroup limit (``memory.max``)
or a ``ulimit -v`` is invisible to an explicit ``memory_limit``. When the
setting is left at its default, :func:`effective_memory_limit` lowers it to
a share of the smallest cap it finds, so that DuckDB spills to disk before
the process is killed; an explicit setting above that share is honoured, with
a warning.
"""

from __future__ import annotations

import logging
import os
import re
import resource
from pathlib import Path

#: DuckDB's share of the process's cap: the rest is for Polars (ingest reads
#: a file or chunk at a time), Python and the allocators' slack.
DUCKDB_SHARE = 0.4

_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[a-z]+)\s*$", re.IGNORECASE)
_CGROUP_FILES = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


def physical_memory() -> int:
    """The machine's physical RAM in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def size_bytes(text: str) -> int:
    """Bytes of a DuckDB memory size (``4GB``, ``500MB``, ``2GiB``, ``50%`` of RAM)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a memory size: {text!r}")
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit == "%":
        return int(physical_memory() * value / 100)
    return int(value * _UNITS[unit])


def process_memory_cap() -> tuple[int, str]:
    """The smallest memory cap on this process, in bytes, and what sets it:
    the cgroup limit, ``ulimit -v`` (RLIMIT_AS) or physical RAM."""
    caps = [(physical_memory(), "physical RAM")]
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        caps.append((soft, "ulimit -v"))
    for path in _CGROUP_FILES:
        try:
            raw = path.read_text(encoding="ascii").strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**60:
            caps.append((int(raw), "cgroup memory limit"))
    return min(caps)


def effective_memory_limit(configured: str, explicit: bool) -> tuple[str, str | None]:
    """The ``memory_limit`` to give DuckDB, and a warning to log (or ``None``).

    A default (not ``explicit``) setting is lowered to :data:`DUCKDB_SHARE`
    of the process's cap when it is above it; an explicit one is kept and
    warned about.
    """
    cap, source = process_memory_cap()
    share = int(cap * DUCKDB_SHARE)
    if size_bytes(configured) <= share:
        return configured, None
    fits = f"{share // 10**6}MB"
    if explicit:
        return configured, (
            f"memory_limit {configured} is more than {DUCKDB_SHARE:.0%} of the {source}"
            f" ({cap // 10**6}MB): the process may be killed before DuckDB spills to disk;"
            f" RELIEF_MATCH_MEMORY_LIMIT={fits} would leave room for the rest"
        )
    return fits, (
        f"memory_limit lowered from the default {configured} to {fits}"
        f" ({DUCKDB_SHARE:.0%} of the {source}, {cap // 10**6}MB)"
    )


def duckdb_memory_limit(configured: str, explicit: bool) -> str:
    """:func:`effective_memory_limit`, with its warning logged."""
    limit, warning = effective_memory_limit(configured, explicit)
    if warning:
        logging.getLogger("relief_match.memory").warning(warning)
    return limit
