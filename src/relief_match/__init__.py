"""relief-match: cross-department checks of social-assistance recipients."""

from __future__ import annotations

__version__ = "0.1.0"
