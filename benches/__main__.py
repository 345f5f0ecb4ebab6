"""``python -m benches``: the same as ``fastbridge bench``."""

from benches.suite import main

raise SystemExit(main())
