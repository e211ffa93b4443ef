"""The ``llmdata`` command line: thin commands over the library, errors mapped in one place."""
