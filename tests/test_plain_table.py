"""The plain-text search table is what rich prints, character for character, and a piped search stays light."""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest

import llmdata
from llmdata.cli import plain
from llmdata.cli.cells import search_footer
from llmdata.cli.output import console
from llmdata.cli.render import search_table

WIDTHS = [*range(20, 100, 3), 117, 150, 200, 263]


def _rich(hits: list[dict], chinese: bool, width: int, monkeypatch) -> str:
    """What `llmdata search` prints through rich at this width when stdout is not a terminal."""
    monkeypatch.setenv("COLUMNS", str(width))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    rich = console()
    rich.print(search_table(hits, chinese=chinese))
    rich.print(f"[dim]{search_footer(len(hits))}[/]")
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    return out.getvalue()


def _plain(hits: list[dict], chinese: bool, width: int, monkeypatch) -> str | None:
    monkeypatch.setenv("COLUMNS", str(width))
    return plain.search_text(hits, chinese, stream=io.StringIO())


def _odd_hits(cards: list[dict]) -> list[dict]:
    """Entries that try the layout: gated and manual access, long ids, unknown verdicts, no size, CJK runs."""
    base = cards[0]
    return [
        base | {"id": "a-very-long-dataset-identifier-" * 3, "access": "gated", "commercial": None, "size": {}},
        base | {"id": "x", "access": "manual", "license_source": None, "languages": [],
                "summary": {"en": "short", "zh": "短"}},
        base | {"summary": {"en": "é" * 300, "zh": "中文混合 English 文本，全角ＡＢＣ与标点。" * 9}},
        base | {"license": "other", "commercial": False, "summary": {"en": "", "zh": ""}},
        base | {"summary": {"en": "prompts start with '\\n\\nHuman:' and \\d+ stays", "zh": "反斜杠 \\ 在中间"}},
    ]


def test_plain_table_is_what_rich_prints(monkeypatch):
    cards = llmdata.search("", limit=None)
    rng = random.Random(16)
    batches = [cards[:20], cards[-20:], cards[:1], _odd_hits(cards), rng.sample(cards, 20), rng.sample(cards, 50)]
    laid_out = 0
    for hits in batches:
        for chinese in (False, True):
            for width in WIDTHS:
                text = _plain(hits, chinese, width, monkeypatch)
                if text is not None:
                    laid_out += 1
                    assert text == _rich(hits, chinese, width, monkeypatch), (width, chinese, [h["id"] for h in hits])
    # The comparison is only worth something if most cases are laid out here (narrow widths go to rich).
    assert laid_out > 0.6 * len(batches) * 2 * len(WIDTHS)
    for start in range(0, len(cards), 20):  # every entry of the catalog
        for width in (60, 80, 160):
            text = _plain(cards[start:start + 20], start % 40 == 0, width, monkeypatch)
            assert text == _rich(cards[start:start + 20], start % 40 == 0, width, monkeypatch)


@pytest.mark.parametrize("summary", ["uses :smile: codes", "has [bold]markup[/bold]", "a\\", "two\nlines",
                                     "a\ttab", "bell\x07"])
def test_text_rich_treats_specially_is_left_to_rich(summary, monkeypatch):
    hit = llmdata.search("", limit=1)[0]
    hit["summary"] = {"en": summary, "zh": summary}
    assert _plain([hit], False, 120, monkeypatch) is None


def test_a_colon_pair_rich_leaves_alone_prints_the_same(monkeypatch):
    hit = llmdata.search("", limit=1)[0]
    hit["summary"] = {"en": 'prompts as "Human:/Assistant:" text', "zh": "“Human:/Assistant:” 格式"}
    assert _rich([hit], False, 120, monkeypatch).count("Human:/Assistant:") == 1


@pytest.mark.parametrize("env", [{}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": ""}, {"TTY_COMPATIBLE": "1"},
                                 {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, {"COLUMNS": "123"},
                                 {"COLUMNS": "wide"}, {"COLUMNS": "0"}])
def test_terminal_and_width_decided_as_rich_decides(env, monkeypatch):
    from rich.console import Console

    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    stream = io.StringIO()
    rich = Console(file=stream)
    assert plain.is_terminal(stream) == rich.is_terminal
    if not rich.is_terminal:
        assert plain.console_width() == rich.width


def test_cli_search_prints_the_same_with_and_without_rich(cli, monkeypatch):
    for args in (["search", "数学"], ["search", "--limit", "50"], ["search", "medical", "chat"]):
        piped = cli(*args)
        monkeypatch.setattr(plain, "search_text", lambda *a, **k: None)
        through_rich = cli(*args)
        monkeypatch.undo()
        assert piped.code == through_rich.code == 0
        assert piped.out == through_rich.out and piped.err == through_rich.err


def _modules_after(*args: str) -> set[str]:
    code = ("import sys; from llmdata.cli.app import main; code = main(sys.argv[1:]); "
            "sys.stderr.write('@@' + ' '.join(sorted(sys.modules))); sys.exit(code)")
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return set(run.stderr.rpartition("@@")[2].split())


def test_piped_search_imports_neither_rich_console_nor_other_commands():
    _modules_after("search", "数学")  # builds the index
    loaded = _modules_after("search", "数学")
    heavy = {"rich.console", "rich.table", "logging", "yaml", "jsonschema", "sqlmodel", "sqlalchemy", "datasets",
             "pyarrow", "numpy", "httpx", "hashlib", "llmdata.cli.store_cmds", "llmdata.cli.recipe_cmds",
             "llmdata.cli.pin_cmd", "llmdata.cli.render", "llmdata.index.build"}
    assert not heavy & loaded, heavy & loaded


def test_other_commands_show_library_notices():
    code = ("import logging, sys; from llmdata.cli.app import main; main(['list']); "
            "logging.getLogger('llmdata.fetchers.http').info('waiting 40 s before retry')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "note: waiting 40 s before retry" in run.stderr


def test_a_pipe_closed_early_ends_the_command_as_rich_does(monkeypatch):
    import os

    from llmdata.cli.output import write_plain

    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", stream)
    with pytest.raises(SystemExit) as exc:
        write_plain("x" * 100_000)
    assert exc.value.code == 1
    stream.write("more")  # stdout now goes to /dev/null
    stream.flush()
