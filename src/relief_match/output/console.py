"""Human-readable run summaries on the terminal (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def ingest_table(ingest: Any) -> Table:
    """Per-extract rows read / repaired / quarantined / used."""
    t = Table(title=f"Delivery {ingest.delivery}", title_justify="left")
    for col, just in (
        ("extract", "left"),
        ("status", "left"),
        ("format", "left"),
        ("read", "right"),
        ("repaired", "right"),
        ("quarantined", "right"),
        ("used", "right"),
        ("top quarantine reasons", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for e in ingest.extracts:
        reasons = ", ".join(
            f"{k} {v}" for k, v in sorted(e.quarantine_reasons.items(), key=lambda kv: -kv[1])[:3]
        )
        fmt = "/".join(
            sorted(
                {
                    f"{f}{'(' + enc + ')' if enc else ''}"
                    for f, enc in zip(e.formats, e.encodings, strict=False)
                }
            )
        )
        style = {"missing": "yellow", "unreadable": "red", "partial": "yellow"}.get(e.status)
        t.add_row(
            e.extract,
            e.status,
            fmt,
            f"{e.rows_read:,}",
            f"{e.rows_repaired:,}",
            f"{e.rows_quarantined:,}",
            f"{e.rows_used:,}",
            reasons,
            style=style,
        )
    t.add_section()
    t.add_row(
        "total",
        "",
        "",
        f"{ingest.rows_read:,}",
        f"{sum(e.rows_repaired for e in ingest.extracts):,}",
        f"{ingest.rows_quarantined:,}",
        f"{ingest.rows_used:,}",
        "read = used + quarantined"
        if ingest.rows_read == ingest.rows_used + ingest.rows_quarantined
        else "DOES NOT RECONCILE",
    )
    return t


def print_report(report: Any, console: Console | None = None) -> None:
    """Print a :class:`relief_match.api.RunReport` for an analyst."""
    import shutil

    console = console or Console(width=max(140, shutil.get_terminal_size((140, 40)).columns))
    console.print(
        f"[bold]relief-match {report.command}[/bold]: {report.status} in {report.seconds:.1f}s, as of {report.config.as_of}"
    )
    if report.ingest is not None:
        console.print(ingest_table(report.ingest))
        missing = [e.extract for e in report.ingest.extracts if e.status == "missing"]
        if missing:
            console.print(f"  [yellow]not delivered tonight: {', '.join(missing)}[/yellow]")
        for e in report.ingest.extracts:
            for note in e.notes:
                if not note.startswith("not delivered"):
                    console.print(f"  [dim]{e.extract}: {note}[/dim]")
        for u in report.ingest.unknown_files:
            console.print(f"  [yellow]ignored file not in the contract: {u}[/yellow]")
    for rep in report.stages.values():
        if hasattr(rep, "asstr"):
            console.print(rep.asstr())
    if report.outputs:
        console.print("[bold]outputs[/bold]")
        for k, v in report.outputs.items():
            console.print(f"  {k}: {v}")


def print_runs(runs: list[Any], console: Console | None = None) -> None:
    """Print ``relief-match runs``: one row per run folder, newest first."""
    import shutil

    console = console or Console(width=max(120, shutil.get_terminal_size((120, 40)).columns))
    t = Table(title_justify="left")
    for col in ("run", "command", "as of", "started", "status", "exit", "flags", "seconds"):
        t.add_column(col, justify="right" if col in ("exit", "flags", "seconds") else "left")
    styles = {"failed": "red", "killed": "red", "incomplete": "red", "running": "yellow"}
    for r in runs:
        t.add_row(
            r.run_id + (" (latest)" if r.published else ""),
            r.command,
            r.as_of,
            r.started_at,
            r.status,
            "" if r.exit_code is None else str(r.exit_code),
            "" if r.flags is None else f"{r.flags:,}",
            "" if r.seconds is None else f"{r.seconds:.1f}",
            style=styles.get(r.status),
        )
    console.print(t if runs else "no runs yet")


def print_train_report(rep: Any) -> None:
    """``train-linker``'s report, with the new model's agreement with the current one as a table."""
    from dataclasses import replace

    if rep.agreement is None:
        print(rep.asstr())
        return
    print(replace(rep, agreement=None).asstr())
    table = Table(
        title="links on this delivery",
        caption=f"current model {rep.agreement.current_model}, new model {rep.agreement.new_model}",
    )
    table.add_column("links")
    table.add_column("count", justify="right")
    for label, n in rep.agreement.rows():
        table.add_row(label, f"{n:,}")
    Console().print(table)


def print_whatif(report: Any, console: Console | None = None) -> None:
    """``relief-match whatif``: findings and amounts per check, before and after."""
    console = console or Console(width=140)
    t = Table(
        title=f"what-if on {report.run_dir.name} (as of {report.as_of})",
        caption=f"parameters replaced: {', '.join(report.overrides)}",
        title_justify="left",
    )
    for col in ("check", "published", "what-if", "added", "removed", "changed"):
        t.add_column(col, justify="left" if col == "check" else "right")
    t.add_column("amount published", justify="right")
    t.add_column("amount what-if", justify="right")
    for c in report.checks:
        t.add_row(
            f"{c.rule_title_zh or ''} {c.rule_id}",
            *(f"{n:,}" for n in (c.published, c.whatif, c.added, c.removed, c.changed)),
            f"{c.published_amount:,.2f}",
            f"{c.whatif_amount:,.2f}",
        )
    h = report.households
    t.add_row(
        "households",
        *(f"{h.get(k, 0):,}" for k in ("published", "whatif", "added", "removed", "changed")),
        "",
        "",
        style="bold",
    )
    console.print(t)
    if report.out_dir is not None:
        console.print(f"written to {report.out_dir}")
