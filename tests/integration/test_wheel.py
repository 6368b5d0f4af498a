"""The wheel carries everything: installed in a clean venv, `mailbot demo` works.

Slow (it builds the wheel and installs the dependencies into a new venv; pip's
cache makes reruns quick). Dependencies come from the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("wheel"),  # one build for the module's tests, on one worker
    # bootstrap.sh runs the suite a second time against PostgreSQL; the wheel is the same.
    pytest.mark.skipif(
        bool(os.environ.get("MAILBOT_TEST_DATABASE_URL")),
        reason="packaging does not depend on the test database: checked in the SQLite run",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
# Only what a build needs: no venv, no caches, no stale build/ from an earlier build.
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", "tests", "benchmarks", "mailbot-demo", "*.sqlite3*",
)  # fmt: skip
INSTALL_TIMEOUT = 900  # seconds; a cold pip cache downloads spaCy and friends


def _run(cmd: list[str | Path], timeout: float = 300, **kw: object) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source])
    (built,) = (work / "dist").glob("mailbot-*.whl")
    return built


def test_wheel_contains_the_bundled_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "mailbot/_data/rules/noise.toml",
        "mailbot/_data/templates/ack/issue.en.txt.j2",
        "mailbot/_data/templates/ack/issue.zh-Hans.txt.j2",
        "mailbot/_data/models/triage/meta.json",
        "mailbot/_data/models/triage/textcat/model",
        "mailbot/_data/mailbot.example.toml",
        "mailbot/demo/mails/01-issue-en.eml",
        "mailbot/storage/migrations/script.py.mako",
        "mailbot/storage/migrations/env.py",
        "mailbot/storage/migrations/versions/0001_initial_schema.py",
        "mailbot/triage/configs/triage.cfg",
    ):
        assert expected in names, f"{expected} is missing from {wheel.name}"
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_clean_venv_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # --no-compile: byte-compiling every dependency up front is most of an install's time, and
    # Python compiles what the demo imports anyway.
    _run(
        [python, "-m", "pip", "install", "-q", "--no-compile", wheel],
        timeout=INSTALL_TIMEOUT,
        env=env,
    )
    mailbot = venv / "bin" / "mailbot"
    # Run from a folder without the checkout, so only the installed package can be used.
    assert "mailbot 0.1.0" in _run([mailbot, "--version"], cwd=tmp_path, env=env)
    demo = tmp_path / "demo"
    out = _run([mailbot, "demo", "--dir", demo], cwd=tmp_path, env=env)
    acks = sorted((demo / "outbox").glob("*-ack.eml"))
    assert acks, f"no acknowledgements were written:\n{out}"
    assert f"{len(acks)} acknowledgements written" in out
    texts = b"".join(path.read_bytes() for path in acks)
    assert b"ACME-" in texts  # filed against a configured project, from the bundled rules/model
    located = _run(
        [python, "-c", "import mailbot.resources as r; print(r.rules_dir(), r.example_config())"],
        cwd=tmp_path,
        env=env,
    )
    assert str(venv) in located and "_data" in located
    assert str(ROOT) not in located
