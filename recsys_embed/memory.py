"""Memory checks before dense steps: estimate the bytes, compare with what is available.

Available memory is the kernel's ``MemAvailable`` (Linux), lowered to what a cgroup memory
limit leaves. Where neither can be read (other systems), nothing is checked.
"""

from __future__ import annotations

from pathlib import Path

from recsys_embed.errors import MemoryLimitError


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    """Bytes left under a cgroup v2 (or v1) memory limit, if one is set."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= 1 << 60:  # no limit (v1 writes a huge number)
            return None
        return max(int(limit) - usage, 0)
    return None


def available_bytes() -> int | None:
    """Bytes this process can still allocate without swapping, or None if unknown."""
    free = _meminfo_available()
    headroom = _cgroup_headroom()
    if free is None:
        return headroom
    return free if headroom is None else min(free, headroom)


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def check_memory(need: int, what: str, hint: str = "") -> None:
    """Raise :class:`MemoryLimitError` before ``what`` starts if ``need`` bytes are not free."""
    free = available_bytes()
    if free is not None and need > free:
        tail = f"; {hint}" if hint else ""
        raise MemoryLimitError(
            f"{what} needs about {human(need)} of memory, and {human(free)} is available{tail}"
        )


def dense_scores_bytes(rows: int, cols: int) -> int:
    """A float32 score block and the top-k selection's temporaries (about one more block)."""
    return 2 * 4 * int(rows) * int(cols)


def ease_fit_bytes(n_users: int, n_items: int) -> int:
    """EASE's fit: the float32 ``n_items x n_items`` Gram matrix (inverted in its own memory)
    and the dense float32 ``n_users x n_items`` history rows."""
    return 4 * int(n_items) * int(n_items) + 4 * int(n_users) * int(n_items)


def check_ease_fit(n_users: int, n_items: int) -> None:
    """Raise :class:`MemoryLimitError` unless EASE's fit on a log of this size fits in memory."""
    check_memory(
        ease_fit_bytes(n_users, n_items),
        f"EASE on {n_items} items and {n_users} users (an {n_items} x {n_items} float32 "
        f"inverse and {n_users} x {n_items} history rows)",
        "EASE suits catalogues up to a few 10k items; use another model or fewer items",
    )
