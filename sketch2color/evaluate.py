"""``python -m sketch2color.evaluate``: see :mod:`sketch2color.cli.evaluate` (``--help`` lists the flags)."""

from sketch2color.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
