"""Recipes: build a training mixture from catalog datasets, reproducibly, and hand data to trainers.

One module per job: ``spec`` (recipe files), ``inputs`` (fetched splits and
their facts), ``text`` (canonical text, tokens, n-gram hashes), ``sample``,
``dedup``, ``decontam``, ``licence``, ``lock``, ``card``, ``build`` (the
orchestration) and the exporters (``export`` and ``export_*``).
"""
