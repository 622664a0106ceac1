"""Progress: a bar on request, throttled log lines off a terminal, silence when asked."""

from __future__ import annotations

import logging

import pytest

from recsys_embed.progress import progress


def test_bar_writes_desc_and_count_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(range(3), desc="epochs", show=True)) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "epochs" in err and "/3" in err  # the bar is drawn with its total


def test_off_a_terminal_logs_lines_with_count_and_postfix(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="recsys_embed")
    bar = progress(total=4, desc="trials", unit="trial")
    bar._log_every = 0.0  # every update logs, so the test needs no waiting
    bar.set_postfix(best=0.123456)
    bar.update(1)
    bar.update(2)
    bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("trials: 1/4 trial (25%)") and "best=0.1235" in lines[0]
    assert lines[1].startswith("trials: 3/4 trial (75%)")


def test_silent_when_show_is_false(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="recsys_embed")
    bar = progress(range(5), desc="quiet", show=False)
    bar._log_every = 0.0
    assert sum(bar) == 10
    assert capsys.readouterr().err == "" and caplog.records == []
