"""Progress bars for long work: tqdm on stderr, silent when stderr is not a terminal or when disabled."""

from __future__ import annotations

import sys
import threading
from typing import Any

from tqdm.auto import tqdm


class _Bar(tqdm):
    """tqdm with a lock private to this process.

    tqdm's default lock includes a multiprocessing semaphore, shared with every process forked after it exists, and
    every bar takes it when created, even a disabled one. A forked worker killed while holding it (SIGKILL in a
    kill-and-resume run) would freeze its parent at the next bar for ever. dynlatch's bars never span processes, so a
    thread lock is all they need."""


_Bar.set_lock(threading.RLock())


def progress_bar(total: int | None, desc: str, *, enabled: bool = True, **kw: Any) -> tqdm:
    """A tqdm bar on stderr; a no-op bar when ``enabled`` is false or stderr is not a TTY."""
    return _Bar(total=total, desc=desc, disable=not (enabled and sys.stderr.isatty()), file=sys.stderr,
                leave=False, dynamic_ncols=True, **kw)
