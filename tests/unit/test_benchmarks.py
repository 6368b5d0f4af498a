"""The benchmarks drive the product's own classes from outside its tests: each one imports,
and a class one overrides keeps the signature of what it replaces (the spine's pipeline once
broke unseen when `Pipeline.advance` took a new argument)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import benchmarks
from mailbot.pipeline.machine import Pipeline

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)))
def test_each_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.main)


def test_the_spines_pipeline_takes_what_advance_takes() -> None:
    from benchmarks.ingest import SpineOnly

    theirs = inspect.signature(SpineOnly.advance).parameters
    ours = inspect.signature(Pipeline.advance).parameters
    assert list(theirs) == list(ours)
    assert [p.kind for p in theirs.values()] == [p.kind for p in ours.values()]
