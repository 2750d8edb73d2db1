"""A class's lab names and its refusals, without containers."""

import pytest

from lab.classroom import member_names
from lab.cli import main
from lab.errors import ConfigError


def test_a_class_is_named_prefix_and_two_digits():
    assert member_names("trainee", 3) == ["trainee01", "trainee02", "trainee03"]
    with pytest.raises(ConfigError, match="--count 0: expected 1..99"):
        member_names("trainee", 0)


def test_lab_class_up_without_a_count_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["class", "up"])
    assert exc.value.code == 2 and "--count" in capsys.readouterr().err
