"""``python -m sketch2color.app``: see :mod:`sketch2color.cli.app` (``--help`` lists the flags)."""

from sketch2color.cli.app import main

if __name__ == "__main__":
    raise SystemExit(main())
