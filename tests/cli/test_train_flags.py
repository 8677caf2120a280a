"""Every numeric flag of ``python -m sketch2color.train`` is checked when it is parsed.

The bounds live once, in the config dataclasses' field metadata; these tests read them from there
and try each flag just outside and just inside its range, so a new bounded setting is covered
without editing this file.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from sketch2color.cli import train
from sketch2color.config import BOUNDS, ConfigError, DataConfig, TrainConfig

BOUNDED = [
    (dest, section, field)
    for dest, (section, field) in train.config_options().items()
    if any(key in field.metadata for key in BOUNDS)
]


def parse(capsys, *argv: str):
    """(namespace or None, stderr) of parsing ``argv``; None when argparse exits with code 2."""
    try:
        return train.build_parser().parse_args(list(argv)), ""
    except SystemExit as exit_:
        assert exit_.code == 2
        return None, capsys.readouterr().err


def outside_and_inside(field: dataclasses.Field) -> tuple[str, str]:
    """A value just outside the field's range and one at its edge, as command-line text."""
    meta = field.metadata
    step = 1 if "int" in str(field.type) else 1e-3
    if "minimum" in meta:
        return str(meta["minimum"] - step), str(meta["minimum"])
    if "above" in meta:
        return str(meta["above"]), str(meta["above"] + step)
    if "maximum" in meta:
        return str(meta["maximum"] + step), str(meta["maximum"])
    return str(meta["below"]), str(meta["below"] - step)


def test_most_numeric_settings_are_bounded():
    assert len(BOUNDED) >= 25, [dest for dest, _, _ in BOUNDED]


@pytest.mark.parametrize(("dest", "section", "field"), BOUNDED, ids=[dest for dest, _, _ in BOUNDED])
def test_a_value_outside_the_range_is_refused_at_parse_time(capsys, dest, section, field):
    flag = field.metadata["flag"]
    outside, inside = outside_and_inside(field)
    args, error = parse(capsys, flag, outside)
    assert args is None, f"{flag} {outside} was accepted"
    assert f"argument {flag}: must be" in error and outside in error, error
    args, error = parse(capsys, flag, inside)
    assert args is not None, error
    assert math.isclose(float(getattr(args, dest)), float(inside))


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(capsys, text):
    args, error = parse(capsys, f"--lr={text}")
    assert args is None and "argument --lr: must be a finite number" in error, error


def test_the_api_checks_the_same_bounds():
    with pytest.raises(ConfigError, match=r"learning_rate \(--lr\) must be > 0.0, got -1"):
        TrainConfig(learning_rate=-1.0).validate()
    with pytest.raises(ConfigError, match=r"flip_prob \(--flip-prob\) must be >= 0.0 and <= 1.0, got 2"):
        DataConfig(flip_prob=2.0).validate()
    with pytest.raises(ConfigError, match="lr_decay_epochs"):
        TrainConfig(epochs=10, lr_decay_epochs=11).validate()
    TrainConfig().validate()
    DataConfig().validate()
