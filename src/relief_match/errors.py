"""One error hierarchy for the whole job.

Each error knows the exit code the CLI maps it to and carries a hint saying
what the operator should do. The CLI is the only place that turns these into
a one-line message and an exit status (tracebacks only with ``--debug``).
"""

from __future__ import annotations

from pathlib import Path

#: Exit status of a run that completed, with findings or without.
EXIT_OK = 0
#: Exit status for an internal failure (a bug, or an environment problem).
EXIT_INTERNAL = 1
#: Exit status for a command-line usage error (typer/click's own convention).
EXIT_USAGE = 2
#: Exit status when the delivery cannot be used at all (missing directory,
#: no readable extract, or the recipient extracts absent or unreadable).
EXIT_UNUSABLE_INPUT = 3
#: Exit status for a broken project configuration (schemas, rules, params).
EXIT_CONFIG = 4
#: Reserved: "completed, but some extracts were unusable" (not used yet).
EXIT_UNUSABLE_EXTRACTS = 5
#: Exit status when another relief-match process holds the output directory's lock.
EXIT_LOCKED = 6


class ReliefMatchError(Exception):
    """Base class: a domain error with an exit code and an operator hint."""

    exit_code: int = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def one_line(self) -> str:
        """The message as the CLI prints it: location, message, hint."""
        parts = []
        if self.location:
            parts.append(f"{self.location}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" ({self.hint})")
        return "".join(parts)


class UnusableInputError(ReliefMatchError):
    """The delivery as a whole cannot be processed."""

    exit_code = EXIT_UNUSABLE_INPUT


class ConfigError(ReliefMatchError):
    """Schemas, rules or parameters of the project are inconsistent.

    ``problems`` lists every problem found, each with the file it is in, so an
    operator can fix them all in one go.
    """

    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[tuple[Path | str, str]], *, hint: str | None = None):
        self.problems = problems
        lines = [f"{p}: {m}" for p, m in problems]
        super().__init__(
            f"{len(problems)} configuration problem(s):\n  " + "\n  ".join(lines), hint=hint
        )


class InternalError(ReliefMatchError):
    """A failure that is a bug in relief-match, not a problem with the input."""

    exit_code = EXIT_INTERNAL


class UsageError(ReliefMatchError):
    """A command-line value cannot be used (a bad flag value, an unusable path)."""

    exit_code = EXIT_USAGE


class OutputLockedError(ReliefMatchError):
    """Another relief-match process is writing to the same output directory."""

    exit_code = EXIT_LOCKED


def exit_code_of(exc: BaseException) -> int:
    """The exit status the CLI gives for ``exc``."""
    if isinstance(exc, ReliefMatchError):
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return EXIT_INTERNAL
