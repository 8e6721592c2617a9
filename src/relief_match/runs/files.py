"""Atomic file writes: a temp name in the same folder, fsync, then ``os.replace``.

A reader never sees a half-written file: until the rename the file has a
hidden temporary name (``.<name>.tmp-<pid>``), and the rename is atomic on
one filesystem. The rename replaces whatever is at the destination, a
symlink included, rather than writing through it; the temporary file is
created with ``O_EXCL | O_NOFOLLOW``, so a planted symlink is never followed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

#: Files holding full ID numbers or other personal data (only the job's user reads them).
PRIVATE = 0o600
#: Files without personal data beyond masked IDs.
SHARED = 0o644
#: Run directories.
PRIVATE_DIR = 0o700


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort on filesystems without dir fsync)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_path(dest: Path, mode: int = PRIVATE) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``dest``; on success move it onto ``dest``.

    The caller writes the temporary path by any means (a writer taking a file
    name is fine). On an exception the temporary file is removed and ``dest``
    is left as it was.
    """
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    with suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(dest.parent)


def write_bytes(dest: Path, data: bytes, mode: int = PRIVATE) -> None:
    """Write ``data`` to ``dest`` atomically."""
    with atomic_path(dest, mode) as tmp:
        tmp.write_bytes(data)


def write_json(dest: Path, obj: Any, mode: int = SHARED) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``dest`` atomically."""
    text = json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"
    write_bytes(dest, text.encode("utf-8"), mode)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when it is missing or unreadable."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()
