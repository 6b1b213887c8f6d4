"""``python -m kiosk ...`` is ``walkin kiosk ...``."""

from kiosk.app import main

raise SystemExit(main())
