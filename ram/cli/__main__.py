"""``python -m ram.cli``: the same as the ``ram`` console script."""

import sys

from ram.cli.main import main

sys.exit(main())
