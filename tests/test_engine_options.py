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


def test_build_checks_its_engine_before_any_work(served, cli, tmp_path, monkeypatch):
    (tmp_path / "r.yaml").write_text("name: m\nseed: 1\ndatasets:\n  - {id: alpaca-mini, all: true}\n")
    args = ("build", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "out"), "--engine")
    result = cli(*args, "spark")
    assert result.code == 2 and "unknown engine 'spark'" in result.err
    monkeypatch.setitem(sys.modules, "ray", None)
    result = cli(*args, "ray")
    assert result.code == 2 and "needs Ray Data" in result.err and "llmdata[ray]" in result.err
    assert not (tmp_path / "out").exists() and not served.requests
