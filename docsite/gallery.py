"""``python docsite/gallery.py [NAME ...]``: the quick runs the site's gallery shows.

Runs ``dynlatch run NAME --quick --quiet --out results/docs-gallery/NAME`` for every study (or the NAMEs given)
whose folder holds no ``summary.json`` yet, and records each run's wall time in ``results/docs-gallery/seconds.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dynlatch._cli import main as dynlatch  # noqa: E402
from dynlatch.studies import STUDIES  # noqa: E402

GALLERY_RUNS = ROOT / "results" / "docs-gallery"


def run(names: list[str]) -> int:
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        print(f"gallery: error: unknown study {unknown[0]!r}; known: {', '.join(STUDIES)}", file=sys.stderr)
        return 2
    times_path = GALLERY_RUNS / "seconds.json"
    GALLERY_RUNS.mkdir(parents=True, exist_ok=True)
    seconds = json.loads(times_path.read_text()) if times_path.is_file() else {}
    for name in names or list(STUDIES):
        out = GALLERY_RUNS / name
        if (out / "summary.json").is_file():
            continue
        start = time.perf_counter()
        code = dynlatch(["run", name, "--quick", "--quiet", "--out", str(out)])
        if code:
            print(f"gallery: error: dynlatch run {name} --quick exited {code}", file=sys.stderr)
            return code
        seconds[name] = round(time.perf_counter() - start, 1)
        times_path.write_text(json.dumps(seconds, indent=1) + "\n")
        print(f"gallery: {name} --quick in {seconds[name]:.0f} s", flush=True)
    print(f"gallery: {len(seconds)} quick runs, {sum(seconds.values()):.0f} s in all (results/docs-gallery/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
