"""``python -m deltagrad ...``: the same command as the ``deltagrad`` script."""

import sys

from deltagrad.cli import main

sys.exit(main())
