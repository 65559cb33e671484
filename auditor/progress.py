"""Progress bars for long work: one bar per phase on a terminal, nothing otherwise.

The CLI decides whether to show progress (`cli.show_progress`: a terminal and no `--quiet`) and
passes a bool down; library code then writes::

    with Progress(enabled) as progress:
        gathered = progress.phase("gather accounts × regions", total=len(units))
        for unit in ...:
            gathered.advance()

When disabled every call is a no-op, so library code never checks for a terminal itself. Bars go to
stderr (stdout may carry a report). `advance` is thread-safe: collector pools call it from workers.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress

__all__ = ["Phase", "Progress"]


class Phase:
    """One bar: `advance(n)` moves it, `total` may be set later once known."""

    def __init__(self, progress: Progress | None, task_id=None) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, n: int = 1) -> None:
        """Count `n` more units done."""
        if self._progress is not None and self._progress._rich is not None:
            self._progress._rich.advance(self._task_id, n)

    def set_total(self, total: int | None) -> None:
        """Set (or change) the number of units, once known."""
        if self._progress is not None and self._progress._rich is not None:
            self._progress._rich.update(self._task_id, total=total)

    def done(self) -> None:
        """Mark the phase complete (fills the bar even if the total was an estimate)."""
        if self._progress is not None and self._progress._rich is not None:
            rich = self._progress._rich
            task = next((t for t in rich.tasks if t.id == self._task_id), None)
            if task is not None:
                total = task.total if task.total is not None else task.completed
                rich.update(self._task_id, total=total, completed=total)


class Progress:
    """A set of phase bars shown together while the context is open; a no-op when disabled.

    Nested use is allowed: a `Progress` opened while another enabled one is live adds its phases to
    the live display instead of starting a second one (rich allows one live display at a time).
    """

    _active: Progress | None = None
    _active_lock = threading.Lock()

    def __init__(self, enabled: bool = True, *, transient: bool = False) -> None:
        self.enabled = bool(enabled)
        self.transient = transient
        self._rich: RichProgress | None = None
        self._owner = False

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        with Progress._active_lock:
            if Progress._active is not None and Progress._active._rich is not None:
                self._rich = Progress._active._rich
                return self
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=self.transient,
            )
            self._rich.start()
            self._owner = True
            Progress._active = self
        return self

    def __exit__(self, *exc) -> None:
        if self._owner and self._rich is not None:
            self._rich.stop()
            with Progress._active_lock:
                if Progress._active is self:
                    Progress._active = None
        self._rich = None
        self._owner = False

    def phase(self, description: str, total: int | None = None) -> Phase:
        """Start a bar for one phase (`total` units; None while unknown)."""
        if self._rich is None:
            return Phase(None)
        return Phase(self, self._rich.add_task(description, total=total))
