"""Declared model parameters: defaults, checks, docs and tuning ranges, in one place per model."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from recsys_embed.errors import ConfigError

INT_MAX = 2**31 - 1  # implicit, lightfm and numba loops take C ints
SANE_MAX = {  # loop counts and sizes past which a run would never finish or fit in memory
    "iterations": 100_000,
    "epochs": 100_000,
    "factors": 100_000,
    "no_components": 100_000,
    "max_sampled": 100_000,
    "neighbours": 1_000_000,
    "random_state": 2**32 - 1,
}
SANE_MIN = {"random_state": 0}  # numpy and the libraries refuse negative seeds


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a model.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``; ints are accepted for floats.
    ``minimum`` and ``maximum`` are inclusive, ``above`` exclusive; ``choices`` lists allowed
    values. Floats must be finite. Ints are bounded by ``maximum``, else by :data:`SANE_MAX` for
    loop counts and sizes, else by the C ``int`` range the fitting libraries take.
    ``search`` is the tuning range ``(low, high, "log" | "linear")`` or a tuple of choices.
    ``validate(name, value)`` checks what a type cannot (a list's contents) and returns the
    value to keep; it raises :class:`ConfigError`.
    """

    default: Any
    kind: type
    doc: str
    minimum: float | None = None
    above: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    search: tuple[Any, ...] | None = None
    maximum: float | None = None
    validate: Callable[[str, Any], Any] | None = None

    def upper(self, name: str) -> float | None:
        if self.maximum is not None or self.kind is not int:
            return self.maximum
        return SANE_MAX.get(name, INT_MAX)

    def describe(self, name: str = "") -> str:
        parts = [self.kind.__name__]
        if self.choices:
            parts.append(f"one of {list(self.choices)}")
        lower = self.minimum if self.minimum is not None else SANE_MIN.get(name)
        if lower is not None:
            parts.append(f">= {lower}")
        if self.above is not None:
            parts.append(f"> {self.above}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        if self.nullable:
            parts.append("or None")
        return " ".join(parts)

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        ok_type = isinstance(value, self.kind) and not (
            self.kind is not bool and isinstance(value, bool)
        )
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok_type = abs(value) < 2**1023
            value = float(value) if ok_type else value
        bad = not ok_type
        if not bad and self.choices is not None and value not in self.choices:
            bad = True
        lower = self.minimum if self.minimum is not None else SANE_MIN.get(name)
        if not bad and lower is not None and value < lower:
            bad = True
        if not bad and self.above is not None and value <= self.above:
            bad = True
        extra = ""
        if not bad and isinstance(value, float) and not math.isfinite(value):
            bad, extra = True, " and finite"
        upper = self.upper(name)
        if not bad and upper is not None and self.kind in (int, float) and value > upper:
            bad, extra = True, f" and <= {upper}"
        if bad:
            raise ConfigError(f"{name} must be {self.describe(name)}{extra}, got {value!r}")
        return value if self.validate is None else self.validate(name, value)


def reject_unknown(model: str, specs: dict[str, Param], values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ConfigError(f"{model} has no parameter(s) {unknown}; allowed: {sorted(specs)}")


def check_params(model: str, specs: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """Validated values with defaults filled in; unknown names raise listing the allowed ones."""
    reject_unknown(model, specs, values)
    out = {}
    for name, spec in specs.items():
        out[name] = spec.check(name, values.get(name, spec.default))
    return out


FOLD_IN_PARAMS = {
    "fold_in_alpha": Param(
        5.0, float, "extra confidence of a new user's items in fold-in", above=0
    ),
    "fold_in_regularization": Param(
        1.0, float, "fold-in ridge, relative to the mean squared item-factor norm", above=0
    ),
}


class EpochHook(Protocol):
    """Watches a fit epoch by epoch (the tuner's pruning).

    ``wants(n)``: whether to build the model after epoch ``n`` (1-based); the call then sees it
    fitted so far (a Recommender), and may raise to stop the fit.
    """

    def wants(self, epoch: int) -> bool: ...

    def __call__(self, epoch: int, model: Any) -> None: ...


P = TypeVar("P", bound="Parametrised")


class Parametrised:
    """Keyword parameters declared in ``PARAMS``, scikit-learn style: ``__init__`` only stores
    them (unknown names refused), ``get_params``, ``set_params``, ``clone``."""

    PARAMS: ClassVar[dict[str, Param]] = {}

    def __init__(self, **params: Any) -> None:
        reject_unknown(type(self).__name__, self.PARAMS, params)
        self.params = {k: params.get(k, p.default) for k, p in self.PARAMS.items()}

    def get_params(self) -> dict[str, Any]:
        """The model's parameters, as given to ``__init__`` (defaults filled in)."""
        return dict(self.params)

    def set_params(self: P, **params: Any) -> P:
        """Change parameters (checked now, like ``create``); they take effect at the next
        ``fit`` (the factors stay until then). Returns ``self``."""
        reject_unknown(type(self).__name__, self.PARAMS, params)
        self.params = check_params(type(self).__name__, self.PARAMS, {**self.params, **params})
        return self

    def clone(self: P, **params: Any) -> P:
        """A new, unfitted model of the same class and parameters (``params`` override)."""
        return type(self)(**{**self.params, **params})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"
