"""``python -m market.cli``: the ``market`` command."""

from market.cli import main

raise SystemExit(main())
