"""How much memory a model or a data set of a given size would take, checked before it is built: a size
asked for by mistake (``MLP(10**8, [2])``, ``make_moons(10**9)``) is refused at once with what it would
take, instead of filling the machine's memory for minutes and then failing deep inside."""

from __future__ import annotations

import os

#: Bytes one parameter takes once built: its `Value` (slots, a float, its gradient) and its place in
#: the lists that hold it; measured with tracemalloc on MLP(100, [100, 100]) (190 B), rounded up.
PARAMETER_BYTES = 200
#: Bytes one point of a 2-D toy data set takes while it is made: X (2 floats), y (an int64), and
#: numpy's temporary arrays (angles, cos/sin, noise, the shuffled copy), about 8 floats in all.
POINT_BYTES = 96


def physical_memory() -> int | None:
    """The machine's physical memory in bytes, or None where the platform does not say (Pyodide)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _big(n: int) -> str:
    """A large int in three digits and a power of ten ('2.1e+13'); an int beyond the float range by its
    number of digits ('1e+400'), which is all a size that large needs to say."""
    return f"{n:.3g}" if n < 10**300 else f"1e+{len(str(n)) - 1}"


def _size(n: int) -> str:
    """``n`` bytes in the largest unit up to TB that keeps the number at least 1 ('37.3 GB'); beyond
    10**15 TB, a power of ten ('1e+388 TB'), as an int too large for a float still gets a size."""
    for power, unit in enumerate(("B", "KB", "MB", "GB", "TB")):
        if n < 1024 ** (power + 1) or unit == "TB":
            scaled = n // 1024 ** power
            if scaled >= 10**6:
                return f"{_big(scaled)} {unit}"
            return f"{n} B" if unit == "B" else f"{n / 1024 ** power:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def check_fits(who: str, count: int, what: str, each: int, hint: str) -> None:
    """Raise ValueError when ``count`` items of ``each`` bytes would not fit in the machine's physical
    memory: ``who`` begins the message, ``what`` names the items, ``hint`` says what to do instead."""
    memory = physical_memory()
    if memory is None or count * each <= memory:
        return
    need = _big(count) if count >= 10**15 else f"{count:,}"
    raise ValueError(f"{who}: {need} {what} would take {_size(count * each)} of memory, more than "
                     f"this machine's {_size(memory)}; {hint}")
