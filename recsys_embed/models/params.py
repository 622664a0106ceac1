"""Declared model parameters: defaults, checks, docs and tuning ranges, in one place per model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recsys_embed.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a model.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``; ints are accepted for floats.
    ``minimum`` is inclusive, ``above`` exclusive; ``choices`` lists allowed values.
    ``search`` is the tuning range ``(low, high, "log" | "linear")`` or a tuple of choices.
    """

    default: Any
    kind: type
    doc: str
    minimum: float | None = None
    above: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    search: tuple[Any, ...] | None = None

    def describe(self) -> str:
        parts = [self.kind.__name__]
        if self.choices:
            parts.append(f"one of {list(self.choices)}")
        if self.minimum is not None:
            parts.append(f">= {self.minimum}")
        if self.above is not None:
            parts.append(f"> {self.above}")
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
            value, ok_type = float(value), True
        bad = not ok_type
        if not bad and self.choices is not None and value not in self.choices:
            bad = True
        if not bad and self.minimum is not None and value < self.minimum:
            bad = True
        if not bad and self.above is not None and value <= self.above:
            bad = True
        if bad:
            raise ConfigError(f"{name} must be {self.describe()}, got {value!r}")
        return value


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
