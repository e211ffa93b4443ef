"""Fetchers: get exactly the pinned bytes of a catalog entry into the store."""
