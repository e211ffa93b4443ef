"""The local store under ``LLMDATA_HOME``: its layout, atomic writes, and the fetch ledger.

Every other layer asks this package where things live and how to publish
them, so the on-disk contract of DESIGN.md is written in one place.
"""
