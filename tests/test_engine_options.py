"""``--engine``: unknown engines, Ray not installed and stores Ray cannot share fail clearly (no Ray needed)."""

from __future__ import annotations

import sys

import pytest

import llmdata
from llmdata.errors import UsageError


def test_unknown_engine_is_bad_usage(served, cli):
    result = cli("fetch", "alpaca-mini", "--engine", "spark")
    assert result.code == 2 and "unknown engine 'spark'" in result.err and "local, ray" in result.err


def test_ray_not_installed_says_how_to_install(served, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(UsageError) as caught:
        llmdata.fetch("alpaca-mini", engine="ray")
    assert "needs Ray Data" in caught.value.message and "llmdata[ray]" in caught.value.hint
    with pytest.raises(UsageError):
        llmdata.load("alpaca-mini", "train", engine="ray")


def test_a_url_store_is_refused_for_ray(served, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("LLMDATA_HOME", "s3://bucket/llmdata")
    with pytest.raises(UsageError) as caught:
        llmdata.fetch("alpaca-mini", engine="ray")
    assert "LLMDATA_HOME=s3://bucket/llmdata is a URL" in caught.value.message
    assert "mount" in caught.value.hint
