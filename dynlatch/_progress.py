"""Progress bars for long work: tqdm on stderr, silent when stderr is not a terminal or when disabled."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int | None, desc: str, *, enabled: bool = True, **kw: Any) -> tqdm:
    """A tqdm bar on stderr; a no-op bar when ``enabled`` is false or stderr is not a TTY."""
    return tqdm(total=total, desc=desc, disable=not (enabled and sys.stderr.isatty()), file=sys.stderr,
                leave=False, dynamic_ncols=True, **kw)
