"""Shared test helpers."""
import pytest

from sailfish.cli import main


@pytest.fixture
def cli_error(capsys):
    """Runs ``sailfish <argv>`` expecting a usage error: exit status 2 and exactly one line on
    stderr, which it returns."""

    def run(argv):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        return err

    return run
