""""Did you mean ...?" for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ._i18n import gettext as _


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates, or None when nothing is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=2, cutoff=0.6)
    if not close:
        # a shortened or misspelt prefix: "redito" for "reddito_dichiarato"
        stem = name[:4].lower()
        close = [c for c in pool if c.lower().startswith(stem)][:2]
        if not close:
            close = difflib.get_close_matches(name, [c[: len(name) + 1] for c in pool], n=1, cutoff=0.7)
            close = [c for c in pool if close and c.startswith(close[0])][:2]
    if not close:
        return None
    if len(close) == 1:
        return _("did you mean {name!r}?").format(name=close[0])
    return _("did you mean {name!r} or {other!r}?").format(name=close[0], other=close[1])
