"""numba compilation with an on-disk cache where one can be written, and without one elsewhere.

``numba.njit(cache=True)`` raises at import time when neither the package's ``__pycache__`` nor
the user's cache folder (``$NUMBA_CACHE_DIR``, else under ``$HOME``) is writable: a read-only
install run by a service user. Then the function compiles in memory on each run instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba


def njit_cached(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, or ``cache=False`` when no cache is writable."""

    def wrap(fn: Callable[..., Any]) -> Any:
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if "cannot cache" not in str(exc):
                raise
            return numba.njit(cache=False, **options)(fn)

    return wrap
