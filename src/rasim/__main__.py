"""``python -m rasim``: the rasim command line (see :mod:`rasim.cli`)."""

import sys

from rasim.cli import main

sys.exit(main())
