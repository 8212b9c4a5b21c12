"""``python -m analysis`` = ``python -m analysis.figures``."""

from analysis.figures import main

raise SystemExit(main())
