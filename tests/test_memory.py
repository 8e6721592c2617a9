"""The memory limit is a limit: under a low ``memory_limit`` DuckDB spills to
disk (Splink's blocking included) and the run's outputs do not change."""

from __future__ import annotations

import datetime as dt
import filecmp
import resource
from pathlib import Path
from typing import Any

import pytest

from relief_match import api
from relief_match.config import resolve
from relief_match.memory import effective_memory_limit, size_bytes

#: low enough that a 20k city's linking spills to disk, high enough for every
#: query's fixed needs on two threads (measured: the checks need about 40 MB)
LOW_LIMIT = "48MB"
OUTPUTS = ("flags.csv", "households.csv", "flags.parquet", "links.parquet")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from relief_match.synth import generate

    out = tmp_path_factory.mktemp("city20k")
    generate(20000, 11, dt.date(2026, 11, 28), out)
    return out / "delivery"


@pytest.mark.slow
def test_a_low_memory_limit_spills_and_gives_the_same_outputs(
    city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spilled: list[int] = []
    link_stage = api.link_stage

    def measured(cfg: Any, con: Any, *args: Any) -> Any:
        rep = link_stage(cfg, con, *args)
        row = con.execute("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()").fetchall()
        spilled.append(int(row[0][0] or 0))
        return rep

    monkeypatch.setattr(api, "link_stage", measured)
    default = api.run(resolve(city, out=tmp_path / "default", as_of="2026-11-28"))
    low = api.run(resolve(city, out=tmp_path / "low", as_of="2026-11-28", memory_limit=LOW_LIMIT))
    assert default.status == low.status == "completed"
    assert spilled[0] == 0, "the default run should not need to spill"
    assert spilled[1] > 0, f"{LOW_LIMIT} should make DuckDB spill to disk"
    for name in OUTPUTS:
        assert filecmp.cmp(
            tmp_path / "default" / "latest" / name,
            tmp_path / "low" / "latest" / name,
            shallow=False,
        ), name


def test_memory_sizes_are_read_as_duckdb_reads_them() -> None:
    assert size_bytes("4GB") == 4 * 10**9
    assert size_bytes("500 MiB") == 500 * 2**20
    assert 0 < size_bytes("50%") < size_bytes("100%")
    with pytest.raises(ValueError):
        size_bytes("lots")


def test_the_default_limit_fits_a_process_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``ulimit -v 2GB`` the default 4GB becomes 40% of it; an explicit
    setting is kept, with a warning that names the cap."""
    real = resource.getrlimit

    def capped(which: int) -> tuple[int, int]:
        if which == resource.RLIMIT_AS:
            return 2 * 10**9, resource.RLIM_INFINITY
        return real(which)

    monkeypatch.setattr(resource, "getrlimit", capped)
    limit, warning = effective_memory_limit("4GB", explicit=False)
    assert limit == "800MB" and warning and "ulimit -v" in warning
    limit, warning = effective_memory_limit("4GB", explicit=True)
    assert limit == "4GB" and warning and "RELIEF_MATCH_MEMORY_LIMIT=800MB" in warning
    assert effective_memory_limit("500MB", explicit=True) == ("500MB", None)
