"""``python -m sketch2color.colorize``: see :mod:`sketch2color.cli.colorize` (``--help`` lists the flags)."""

from sketch2color.cli.colorize import main

if __name__ == "__main__":
    raise SystemExit(main())
