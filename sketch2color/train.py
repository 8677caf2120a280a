"""``python -m sketch2color.train``: see :mod:`sketch2color.cli.train` (``--help`` lists the flags)."""

from sketch2color.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
