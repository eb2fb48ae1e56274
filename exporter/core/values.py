"""Values from Azure as the exporter accepts them: finite numbers in range and sane identifiers.

JSON allows numbers no float holds (``1e400`` decodes to ``inf``, ``10**400`` stays an int that
``float()`` refuses) and Python's ``json`` accepts ``NaN``/``Infinity``. Every parser reads numbers
and identifiers through these helpers, so one absurd value becomes ``None`` (the parser then drops
that field or item and reports an Issue) instead of an ``OverflowError`` that fails the source.
"""

from __future__ import annotations

import math

# The largest integer a float64 sample holds exactly; larger counts are not counts.
MAX_EXACT_INT = 2**53


def finite(value: object) -> float | None:
    """A JSON number or numeric string as a finite float; None for anything else.

    None for booleans, text, ``inf``/``nan``, and numbers beyond float range (``10**400``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def count(value: object) -> int | None:
    """A whole number in ``0..2**53`` (int, integral float or numeric string); None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_EXACT_INT else None
    number = finite(value)
    if number is None or number < 0 or number > MAX_EXACT_INT or not number.is_integer():
        return None
    return int(number)


def bounded_int(value: object) -> int | None:
    """A JSON integer (not a bool, not a float) within ``±2**53``; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_EXACT_INT:
        return None
    return value


def identifier(value: object, *, keep_case: bool = False) -> str:
    """An identifier as every source turns it into a label or a join key: stripped and lowercased.

    ARM resource ids, names, GUIDs and regions vary in case between APIs and tables and sometimes
    carry stray whitespace (an update name with a trailing space once broke the join between an
    update and its runs); a non-string is the empty identifier. `keep_case` is for the few labels
    documented to keep the producer's case because operators paste them back (IMDS EventIds and
    VM names, Azure Stack update names such as ``Microsoft1.2408.0.19``): stripped only, and joined
    on `join_key`.
    """
    if not isinstance(value, str):
        return ""
    return value.strip() if keep_case else value.strip().lower()


def join_key(value: str) -> str:
    """The key two identifiers are matched on, whichever case each API wrote them in."""
    return identifier(value)


def text(value: object) -> str:
    """A JSON string as is, a finite number or in-range integer as its decimal text, else "".

    ``str()`` of an arbitrary JSON value can raise (a 5,000-digit integer) or recurse without
    bound (deeply nested lists), and a container's repr is no label value anyway.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if bounded_int(value) is not None else ""
    if isinstance(value, float):
        return repr(value) if finite(value) is not None else ""
    return ""


def preview(value: object, limit: int = 40) -> str:
    """A short, always computable description of an odd value for an Issue's fields and logs."""
    if isinstance(value, str):
        return repr(value[:limit])
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)[:limit] if bounded_int(value) is not None else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return repr(value)
    return f"<{type(value).__name__}>"
