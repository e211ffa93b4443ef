"""The README documents every command, option and setting, and CI runs the README's test command."""

from __future__ import annotations

import re

import typer.main

from conftest import REPO
from llmdata import settings
from llmdata.cli.app import app

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands():
    group = typer.main.get_command(app)
    assert group.commands, "the CLI has no subcommands"
    return group.commands


def test_every_command_is_documented():
    for name in commands():
        assert f"llmdata {name}" in README, f"README never shows `llmdata {name}`"


def test_every_option_is_documented():
    for name, command in commands().items():
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in README or f" {opt}" in README, f"{name}: option {opt} missing from README"


def test_every_setting_is_documented():
    for setting in settings.ALL_SETTINGS:
        assert f"`{setting.env}`" in README


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    test_lines = [line for block in blocks for line in block.splitlines() if "pytest" in line]
    assert test_lines, "README shows no test command"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_lines[0].strip() in ci.splitlines()
