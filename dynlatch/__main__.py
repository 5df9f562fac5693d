"""``python -m dynlatch`` is the ``dynlatch`` command."""

from ._cli import main

raise SystemExit(main())
