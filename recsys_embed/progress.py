"""Progress of long work: a tqdm bar on a terminal, timestamped log lines off it.

``show``: ``None`` (the default everywhere) draws a bar when stderr is a terminal and otherwise
logs a line to the ``recsys_embed`` logger at most every ``log_every`` seconds and at the end
(the CLI prints those lines; a library caller sees them only if it configures logging);
``True`` always draws the bar; ``False`` is silent.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

log = logging.getLogger("recsys_embed")
T = TypeVar("T")


def _mode(show: bool | None) -> str:
    if show is False:
        return "off"
    if show:
        return "bar"
    isatty = getattr(sys.stderr, "isatty", None)
    return "bar" if isatty is not None and isatty() else "log"


class Progress(Generic[T]):
    """Iterate (``for x in progress(...)``) or count by hand (``update(n)``), then ``close``."""

    def __init__(
        self,
        iterable: Iterable[T] | None = None,
        total: int | None = None,
        desc: str = "",
        show: bool | None = None,
        unit: str = "it",
        log_every: float = 10.0,
    ) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = 0
        self.mode = _mode(show)
        self._bar: Any = None
        self._start = self._last_log = time.monotonic()
        self._log_every = log_every
        self._postfix = ""
        self._closed = False
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)

    def __iter__(self) -> Iterator[T]:
        if self.iterable is None:
            raise TypeError("this Progress counts by hand (update); it wraps no iterable")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log" and time.monotonic() - self._last_log >= self._log_every:
            self._last_log = time.monotonic()
            log.info("%s", self._line())

    def set_postfix(self, **values: Any) -> None:
        """Show values beside the count (e.g. the last validation score)."""
        self._postfix = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix, refresh=False)

    def _line(self) -> str:
        of = f"/{self.total}" if self.total is not None else ""
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = f", {self._postfix}" if self._postfix else ""
        elapsed = time.monotonic() - self._start
        return f"{self.desc}: {self.n}{of} {self.unit}{pct}, {elapsed:.1f} s{extra}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "log" and time.monotonic() - self._start >= 1.0:
            log.info("%s (done)", self._line())

    def __enter__(self) -> Progress[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    show: bool | None = None,
    unit: str = "it",
) -> Progress[T]:
    """A :class:`Progress` over ``iterable`` (or counted by hand with ``update``)."""
    return Progress(iterable, total=total, desc=desc, show=show, unit=unit)


def counter(
    *, total: int | None = None, desc: str = "", show: bool | None = None, unit: str = "it"
) -> Progress[None]:
    """A :class:`Progress` counted by hand with ``update(n)`` (no iterable to wrap)."""
    return Progress(None, total=total, desc=desc, show=show, unit=unit)
