"""The source revision the installed package was built from (the `revision` of build_info).

`setup.py` writes `exporter/_build.py` into the wheel (or sdist) at build time, from
`AUE_BUILD_REVISION` or `git rev-parse HEAD`. A source checkout or editable install has no such
module: its revision is "unknown".
"""

from __future__ import annotations

import importlib
from functools import cache

UNKNOWN = "unknown"


@cache
def build_revision() -> str:
    try:
        module = importlib.import_module("exporter._build")
    except ImportError:
        return UNKNOWN
    revision = getattr(module, "REVISION", None)
    return revision if isinstance(revision, str) and revision else UNKNOWN
