"""Build hook: put the bundled rules, templates, model and example config into the wheel.

All project metadata lives in pyproject.toml. The top-level `rules/`,
`templates/` and `models/triage/` folders stay the source of truth in a
checkout; the build copies them to `mailbot/_data/`, where
`mailbot.resources` looks first once mailbot is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (source in the checkout, destination under mailbot/_data/)
BUNDLED_DIRS = (
    ("rules", "rules"),
    ("templates", "templates"),
    ("models/triage", "models/triage"),
)
BUNDLED_FILES = (("mailbot.example.toml", "mailbot.example.toml"),)
# Editor and Python droppings that must never reach the wheel.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*~")


class BuildWithData(build_py):
    """`build_py` that also copies the bundled data folders into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "mailbot" / "_data"
        for source, dest in BUNDLED_DIRS:
            origin = ROOT / source
            if not origin.is_dir():
                # Building from a partial tree (e.g. an sdist without the data) would give
                # a wheel whose `mailbot demo` fails at run time; stop here instead.
                raise SystemExit(f"cannot build mailbot: {origin} is missing")
            out = target / dest
            if out.exists():
                shutil.rmtree(out)
            shutil.copytree(origin, out, ignore=IGNORED)
        for source, dest in BUNDLED_FILES:
            out = target / dest
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / source, out)


setup(cmdclass={"build_py": BuildWithData})
