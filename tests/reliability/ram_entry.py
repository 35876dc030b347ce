"""``ram`` exactly as its console script runs it: a script ``__main__`` (DuckDB takes a ``__main__``
without ``__file__``, as under ``python -c``, for an interactive shell and draws progress bars)."""

import sys

from ram.cli import main

sys.exit(main())
