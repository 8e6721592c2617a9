"""Build configuration that pyproject.toml cannot express: the project's
top-level ``schemas/``, ``rules/`` and ``sample_data/`` folders are shipped
inside the package as ``relief_match/defaults/<name>/`` (read with
importlib.resources, see ``src/relief_match/resources.py``)."""

from setuptools import find_namespace_packages, find_packages, setup

DEFAULTS = ("schemas", "rules", "sample_data")


def _data_packages(folder: str) -> list[str]:
    """``folder`` and each of its subfolders as (namespace) packages of data."""
    base = f"relief_match.defaults.{folder}"
    return [base, *(f"{base}.{sub}" for sub in find_namespace_packages(where=folder))]


DATA_PACKAGES = [p for d in DEFAULTS for p in _data_packages(d)]

setup(
    packages=[*find_packages("src"), *DATA_PACKAGES],
    package_dir={"": "src", **{f"relief_match.defaults.{d}": d for d in DEFAULTS}},
    package_data={"relief_match": ["py.typed"], **{p: ["*"] for p in DATA_PACKAGES}},
)
