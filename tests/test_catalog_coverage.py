"""Catalog coverage: every dataset the seed documents name has an entry; generated pages are in sync."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO, SHARED

from llmdata import resources
from llmdata.catalog.pages import render_html, render_markdown, summary_counts, write_pages
from llmdata.catalog.validate import check_files

INVENTORY = SHARED / "seed-inventory.yaml"


def catalog_entries():
    entries, problems = check_files([resources.builtin_catalog()])
    assert [p for p in problems if p.severity == "error"] == []
    return entries


@pytest.mark.skipif(not INVENTORY.is_file(), reason="../shared/seed-inventory.yaml is absent")
def test_every_inventory_item_is_covered_by_id_alias_tag_or_host():
    entries = catalog_entries()
    names = set()
    hosts = set()
    for e in entries:
        names.update([e["id"], *e.get("aliases", []), *(t.casefold() for t in e.get("tags", []))])
        for s in e["sources"]:
            hosts.add((s["kind"], (s.get("repo") or s.get("url") or "").casefold()))
    missing = []
    for item in yaml.safe_load(INVENTORY.read_text("utf-8"))["datasets"]:
        if item["id"] in names:
            continue
        item_hosts = {(k, str(h[k]).casefold()) for h in item["hosts"] for k in ("hf", "github", "url") if k in h}
        if not item_hosts & hosts:
            missing.append(item["id"])
    assert missing == []


def test_entries_are_honest_about_what_they_cannot_do():
    for e in catalog_entries():
        fmt = e.get("format")
        assert fmt, f"{e['id']} declares no format"
        if fmt["produces"] == "unsupported":
            assert len(fmt["reason"]) > 10
        if e["access"] in ("gated", "manual"):
            assert e["instructions"].strip()


def test_generated_pages_are_in_sync():
    stale = write_pages(REPO, check=True)
    assert stale == [], f"run `llmdata pages` to refresh {stale}"


def test_pages_render_counts_and_escape_html():
    entries = catalog_entries()
    counts = summary_counts(entries)
    assert counts["entries"] == len(entries) >= 120
    assert f"entries: {counts['entries']}" in render_markdown(entries)
    page = render_html(entries)
    assert "</script>" in page and page.count("</script>") == 1  # the embedded JSON cannot close the script
