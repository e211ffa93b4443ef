"""`python -m llmdata` runs the CLI."""

import sys

from .cli.app import main

sys.exit(main())
