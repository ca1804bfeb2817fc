"""``python -m chaoskit``: the same as the ``chaoskit`` command."""

from chaoskit.cli import main

raise SystemExit(main())
