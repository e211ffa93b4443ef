"""Hermetic test environment: every test gets its own store and no stray settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmdata.cli.app import main

REPO = Path(__file__).resolve().parent.parent
SHARED = next((p / "shared" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()), REPO.parent / "shared")

_ENV_VARS = ("LLMDATA_HOME", "LLMDATA_CATALOG", "LLMDATA_MIRRORS", "LLMDATA_OFFLINE", "HF_ENDPOINT",
             "HF_TOKEN", "HF_HUB_OFFLINE", "GITHUB_TOKEN")


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("LLMDATA_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    return home


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the real console entry point in-process; returns exit code and captured output."""

    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_cli_subprocess(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "llmdata", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


MINIMAL_ENTRY = """\
- id: {id}
  name: {name}
  summary:
    en: {en}
    zh: {zh}
  category: {category}
  domains: [{domains}]
  languages: [{languages}]
  license: {license}
  commercial: {commercial}
  access: public
  sources:
    - kind: url
      url: https://example.org/{id}.jsonl
"""


def entry_yaml(**overrides) -> str:
    values = dict(id="my-data", name="My private data", en="A private instruction set for tests.",
                  zh="测试用的私有指令数据。", category="sft", domains="general", languages="en",
                  license="mit", commercial="true")
    values.update(overrides)
    return MINIMAL_ENTRY.format(**values)


@pytest.fixture
def write_catalog(tmp_path):
    def write(text: str, name: str = "user.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
