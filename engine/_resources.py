"""Where the bundled rulesets, schemas and templates live: inside the wheel (``engine/_bundled``) or, in a
source checkout, beside the ``engine`` folder."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    bundled = _PACKAGE / "_bundled"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent


def rulesets_dir() -> Path:
    return data_root() / "rulesets"


def schemas_dir() -> Path:
    return data_root() / "schemas"


def explanations_dir() -> Path:
    return data_root() / "explanations"
