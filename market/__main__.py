"""``python -m market``: the ``market`` command."""

from market.cli import main

raise SystemExit(main())
