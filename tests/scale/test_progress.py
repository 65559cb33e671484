"""Progress bars: one per phase when enabled (a terminal, no --quiet), nothing otherwise."""

from __future__ import annotations

import threading
from datetime import UTC

from auditor.progress import Progress


def test_enabled_progress_draws_one_bar_per_phase(capsys):
    with Progress(True) as bars:
        gathered = bars.phase("gather accounts × regions × services", total=4)
        workers = [threading.Thread(target=gathered.advance) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        evaluated = bars.phase("controls evaluated", total=None)
        evaluated.advance(11)
        evaluated.done()
    err = capsys.readouterr().err
    assert "gather accounts × regions × services" in err and "4/4" in err
    assert "controls evaluated" in err and "11/11" in err


def test_disabled_progress_is_silent(capsys):
    with Progress(False) as bars:
        phase = bars.phase("controls evaluated", total=3)
        phase.advance()
        phase.set_total(5)
        phase.done()
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_nested_progress_shares_one_display(capsys):
    with Progress(True) as outer:
        outer.phase("accounts", total=1).advance()
        with Progress(True) as inner:
            inner.phase("controls evaluated", total=2).advance(2)
    err = capsys.readouterr().err
    assert "accounts" in err and "controls evaluated" in err


def test_cli_progress_only_on_a_terminal(monkeypatch):
    import sys

    from auditor.cli import show_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert show_progress(quiet=False) is True
    assert show_progress(quiet=True) is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert show_progress(quiet=False) is False


def test_check_inventory_shows_the_controls_phase(capsys):
    from datetime import datetime
    from pathlib import Path

    from auditor.controls import REGISTRY, check_inventory
    from auditor.inventory import Inventory
    from auditor.policy import load_policies

    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    policies = load_policies(Path(__file__).resolve().parents[2] / "policies", as_of=as_of)
    check_inventory(Inventory(), policies, as_of, progress=True)
    err = capsys.readouterr().err
    assert "controls evaluated" in err and f"{len(REGISTRY)}/{len(REGISTRY)}" in err
    check_inventory(Inventory(), policies, as_of)
    assert capsys.readouterr().err == ""
