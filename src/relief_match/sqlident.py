"""SQL identifiers: the one place an identifier is quoted.

Values always go into SQL as bound parameters; identifiers (table and column
names from schema files) cannot, so they are quoted here and nowhere else.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (DuckDB and Spark SQL both accept double quotes
    once sqlglot has translated the statement).

    Example:
        >>> quote_ident('a"b')
        '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'
