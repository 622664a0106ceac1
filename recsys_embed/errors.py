"""Exceptions raised by recsys_embed. Each message names what was wrong and what was expected."""

from __future__ import annotations


class RecsysEmbedError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(RecsysEmbedError, ValueError):
    """Bad input data: a file, a column or a row that is not what was expected."""


class ConfigError(RecsysEmbedError, ValueError):
    """A bad run configuration or parameter value."""


class NotFittedError(RecsysEmbedError, ValueError, AttributeError):
    """A model was used before ``fit``."""


class UnknownIdError(RecsysEmbedError, KeyError):
    """External ids that the model or id map does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class FitError(RecsysEmbedError, ArithmeticError):
    """A fit produced unusable factors (NaN or infinite): its parameters made it diverge."""


class MemoryLimitError(ConfigError, MemoryError):
    """A dense step would need more memory than is available; raised before it starts.

    A ConfigError because the remedy is a setting (a smaller ``chunk_size``, another model, a
    smaller catalogue); also a MemoryError for callers that catch those.
    """
