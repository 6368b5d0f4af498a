from __future__ import annotations

import pytest

from mailbot.resources import triage_model_dir
from mailbot.triage import Triage


@pytest.fixture(scope="session")
def real_triage() -> Triage:
    return Triage.load(model_dir=triage_model_dir())
