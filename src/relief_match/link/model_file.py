"""The saved linkage model (``rules/linkage/model.json``): writing and loading.

A model is only valid for the comparisons it was trained on (the comparisons
fingerprint of ``settings.yaml``), for the Splink major version that saved it
and for the text data (OpenCC, pypinyin) its name features were folded with.
Loading refuses any other as a configuration error that names the file and
the command retraining it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from relief_match.errors import ConfigError, UsageError
from relief_match.link.settings import LinkSettings
from relief_match.text import data_fingerprint

MODEL_FORMAT = 1
RETRAIN_COMMAND = "relief-match train-linker DELIVERY"


def splink_version() -> str:
    """The installed Splink version (read without importing Splink)."""
    return version("splink")


def _major(v: str) -> str:
    return v.split(".", 1)[0]


@dataclass(frozen=True)
class LoadedModel:
    """A model read from ``model.json`` with the current blocking rules applied."""

    model_version: str
    splink: dict[str, Any]
    lam: float
    reference_member_share: float
    meta: dict[str, Any]


def model_version_of(trained: dict[str, Any], lam: float) -> str:
    """The model's version: a hash of its parameters and prior."""
    src = json.dumps({"p": trained["comparisons"], "lam": lam}, sort_keys=True, ensure_ascii=False)
    return "lm-" + hashlib.sha256(src.encode()).hexdigest()[:12]


def write_model(
    path: Path,
    settings: LinkSettings,
    trained: dict[str, Any],
    lam: float,
    *,
    data_source: str | None,
    seed: int,
    details: dict[str, Any],
) -> str:
    """Save a trained Splink settings dict as ``model.json``; returns its version.

    The training metadata records the data source, the seed, the Splink
    version, the text data fingerprint and ``details`` (method, counts).
    """
    model_version = model_version_of(trained, lam)
    doc: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "model_version": model_version,
        "comparisons_fingerprint": settings.comparisons_fingerprint(),
        "training": {
            "data_source": data_source,
            "seed": seed,
            "splink_version": splink_version(),
            "text_data": data_fingerprint(),
            **details,
        },
        "splink_settings": trained,
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a model
    return model_version


def is_shipped_rules_dir(path: Path) -> bool:
    """Whether ``path`` is the rules folder shipped with relief-match (the
    default ``rules_dir``) rather than a bureau's own copy."""
    from relief_match.config import RunConfig

    factory = RunConfig.model_fields["rules_dir"].default_factory
    shipped = Path(factory())  # type: ignore[misc,call-arg]
    return Path(path).resolve() == shipped.resolve()


def model_out_path(rules_dir: Path, model_out: Path | None, *, force: bool) -> Path:
    """Where ``train-linker`` writes the new model.

    ``model_out`` if given, else ``<rules_dir>/linkage/model.json`` of a
    bureau's own rules folder; never the shipped model by default.

    Raises:
        UsageError: no ``model_out`` while ``rules_dir`` is the shipped
            folder, or the file exists and ``force`` is not set.
    """
    if model_out is None:
        if is_shipped_rules_dir(rules_dir):
            raise UsageError(
                f"{rules_dir} is the rules folder shipped with relief-match: train-linker"
                " does not overwrite its model",
                hint="pass --model-out PATH, or make your own rules folder with"
                " relief-match init and set RELIEF_MATCH_RULES_DIR to it",
            )
        model_out = Path(rules_dir) / "linkage" / "model.json"
    if model_out.exists() and not force:
        raise UsageError(
            f"{model_out} already exists",
            hint="pass --force to replace it, or another --model-out PATH",
        )
    if model_out.exists() and not model_out.is_file():
        raise UsageError(f"{model_out} is not a file", hint="pass a file path to --model-out")
    return model_out


def _refuse(path: Path, problem: str, doc: dict[str, Any] | None = None) -> ConfigError:
    source = ((doc or {}).get("training") or {}).get("data_source")
    hint = f"retrain it: {RETRAIN_COMMAND}"
    if source:
        hint += f" (it was trained on: {source})"
    return ConfigError([(path, problem)], hint=hint)


def load_model(model_path: Path, settings: LinkSettings) -> LoadedModel:
    """Read ``model.json`` and check that this installation can use it.

    Raises:
        FileNotFoundError: no model at ``model_path`` (train one with
            ``relief-match train-linker``).
        ConfigError: the model has an unknown format, was trained for other
            comparisons than ``settings.yaml`` defines, under another Splink
            major version, or with other text data (OpenCC / pypinyin
            versions) than installed.
    """
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"linkage model {path} not found: train it with {RETRAIN_COMMAND}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != MODEL_FORMAT:
        raise _refuse(path, f"unknown model format {doc.get('format')!r}", doc)
    fp = settings.comparisons_fingerprint()
    if doc.get("comparisons_fingerprint") != fp:
        raise _refuse(
            path,
            f"trained for comparisons {doc.get('comparisons_fingerprint')}, "
            f"but {settings.source} defines {fp}",
            doc,
        )
    training = doc.get("training") or {}
    saved_splink = str(training.get("splink_version"))
    if _major(saved_splink) != _major(splink_version()):
        raise _refuse(
            path,
            f"saved under Splink {saved_splink}, but Splink {splink_version()} is installed",
            doc,
        )
    saved_text = training.get("text_data")
    if saved_text != data_fingerprint():
        raise _refuse(
            path,
            f"its name features were folded with text data {saved_text or 'not recorded'}, "
            f"but {data_fingerprint()} is installed",
            doc,
        )
    sp = dict(doc["splink_settings"])
    # blocking rules and output options are run configuration, not parameters
    sp["blocking_rules_to_generate_predictions"] = list(settings.blocking_rules)
    # gamma_* (the level of each comparison, for the evidence text) only comes
    # with the matching columns in Splink 5
    sp["retain_matching_columns"] = True
    sp["retain_intermediate_calculation_columns"] = False
    return LoadedModel(
        model_version=str(doc["model_version"]),
        splink=sp,
        lam=float(sp["probability_two_random_records_match"]),
        reference_member_share=float(training["reference_member_share"]),
        meta=doc,
    )
