"""The command lines: argument parsing and printing only; the work is done by the library.

    train.py      python -m sketch2color.train      -> sketch2color.training.train
    evaluate.py   python -m sketch2color.evaluate   -> sketch2color.evaluation
    export.py     python -m sketch2color.export     -> sketch2color.export.export_run
    colorize.py   python -m sketch2color.colorize   -> sketch2color.export.inference

Each module's ``main(argv)`` returns the exit code: 0 done, 1 some inputs failed, 2 bad input
(a one-line ``error:`` message naming the file or flag), 130 interrupted.
"""
