"""Fetchers: get exactly the pinned bytes of a catalog entry into the store."""

import logging

# Notices (long retry waits, a damaged stored copy replaced) go to the ``llmdata``
# logger; a library prints nothing unless its caller listens (the CLI does).
logging.getLogger(__name__).addHandler(logging.NullHandler())
