"""Where the bundled rules, templates, model and demo data live."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_ROOT = PACKAGE_DIR.parent


def _bundled(name: str) -> Path:
    # Inside the package when installed from a wheel; next to it in a source checkout.
    inside = PACKAGE_DIR / "_data" / name
    return inside if inside.exists() else _SOURCE_ROOT / name


def rules_dir() -> Path:
    return _bundled("rules")


def templates_dir() -> Path:
    return _bundled("templates")


def models_dir() -> Path:
    return _bundled("models")


def triage_model_dir() -> Path:
    return models_dir() / "triage"


def data_dir() -> Path:
    return _bundled("data")


def example_config() -> Path:
    """The documented example configuration (`mailbot.example.toml`)."""
    return _bundled("mailbot.example.toml")
