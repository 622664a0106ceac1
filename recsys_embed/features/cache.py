"""Word vectors built once per corpus and settings within a run.

A run (an evaluation of several text models, a tuning run's trials) owns one
:class:`WordVectorCache` and hands it to its text models, which build their word vectors
through it; a text model given none uses a private one per fit. There is no process-wide cache.
The key holds everything that changes the vectors: the method or the vector file (path, size,
modification time), the file format, dimensions, seed, and a digest of the tokenised corpus (so
the tokenisation settings are in it too). Training is logged to the ``recsys_embed`` logger and
counted in ``trained``; a reuse is counted in ``reused``. The cache holds a few entries (least
recently used dropped first); ``clear()`` empties it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from recsys_embed.features.vectors import WordVectors

log = logging.getLogger("recsys_embed")
Key = tuple[object, ...]


def corpus_digest(docs: Sequence[Sequence[str]]) -> str:
    """A digest of token lists (order and boundaries included)."""
    h = hashlib.sha1()
    for d in docs:
        h.update("\x1f".join(d).encode("utf8"))
        h.update(b"\x1e")
    return h.hexdigest()


def source_key(spec: str) -> tuple[object, ...]:
    """A vector file by path, size and mtime (a rewritten file is read again); else the name."""
    path = Path(spec).expanduser()
    if path.is_file():
        st = path.stat()
        return (str(path.resolve()), st.st_size, st.st_mtime_ns)
    return (spec,)


class WordVectorCache:
    """A small LRU cache of :class:`WordVectors` keyed by the settings that change them."""

    def __init__(self, max_entries: int = 4) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, WordVectors] = OrderedDict()
        self.trained = 0
        self.reused = 0

    def get(self, key: Key, build: Callable[[], WordVectors], label: str) -> WordVectors:
        """The cached vectors for ``key``, built (and logged) on the first request."""
        if key in self._entries:
            self._entries.move_to_end(key)
            self.reused += 1
            log.info("word vectors: reusing %s", label)
            return self._entries[key]
        log.info("word vectors: building %s", label)
        vectors = build()
        self.trained += 1
        self._entries[key] = vectors
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return vectors

    def clear(self) -> None:
        self._entries.clear()
        self.trained = self.reused = 0
