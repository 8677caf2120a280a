"""``python -m sketch2color.export``: the export command (:mod:`sketch2color.cli.export`)."""

from sketch2color.cli.export import main

raise SystemExit(main())
