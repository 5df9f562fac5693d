"""Fault injection for tests: kill this process at a named point (``DYNLATCH_KILL_AT=point[#k]``).

``DYNLATCH_KILL_AT="shard#2"`` sends SIGKILL to the process the second time it reaches :func:`point` ``("shard")``.
Points: ``train`` (a shard is being trained), and for atomic writes the file's role (``shard``, ``runs.csv``,
``summary.json``, ``figure``, ``weights``) after the temporary file is complete and before it is renamed. Unset (the
normal case) this costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "DYNLATCH_KILL_AT"
_hits: dict[str, int] = {}


def point(name: str) -> None:
    """SIGKILL this process if ``$DYNLATCH_KILL_AT`` names ``name`` and this is its k-th hit (default k = 1)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, k = spec.partition("#")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(k or 1):
        os.kill(os.getpid(), signal.SIGKILL)
