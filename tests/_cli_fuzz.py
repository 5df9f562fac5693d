"""Fuzzing of command lines with hypothesis, shared by the test modules of every entry point: odd values for real flag
names, and the property every entry point's parse-and-validate step must have (a settings object, or exactly one line
on stderr starting with the program's name and exit code 2; never another exception)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from hypothesis import strategies as st

TRICKY = ["0", "1", "-1", "2", "5", "50", "1e400", "-1e400", "nan", "inf", "-inf", "0.5", "1e-300", "x", "", ",",
          "5,5", "1,2", "2,5,10", "srnn", "lstm,gru", "keras2", "cpu", "cuda:3", "9" * 30, "1.5", "True", " ",
          "local", "tcp://127.0.0.1:8786", "tcp://127.0.0.1:0", "tcp://:1", "tcp://h\u00e9:1", "tcp://[::1]:8786",
          "tcp://x:\u00b2"]
"""Odd flag values: bounds, non-finite and overflowing numbers, empty and malformed lists, names of kinds, devices
and schedulers."""

MORE_TRICKY = ["1e308", "-1e308", str(2**64), "-" + "9" * 30, "\udcff\udcfe", "\x00", "a\nb", "\u00e9\u00b2", "--",
               "=", "w=nan", "w=1,b", "{}", "0x10", "1_000"]
"""Odd values besides :data:`TRICKY`: values at the float limit, integers beyond int64, text as ``sys.argv`` holds
non-UTF-8 bytes (lone surrogates), control characters, lookalike separators."""


def srnn_weights_file(path: Path) -> str:
    """A valid weight file of a one-unit SRNN (x' = tanh(0.5 x + h)) written at ``path``; returns the path as text."""
    path.write_text(json.dumps({"cell": "srnn", "kernel": [[0.5]], "recurrent_kernel": [[1.0]], "bias": [0.0]}))
    return str(path)


def junk_paths(folder: Path) -> list[str]:
    """Paths an entry point may be handed by mistake, made in ``folder``: missing files and folders, a folder where a
    file is wanted, files that are not what they claim (an empty .json, binary bytes in a .npz, a JSON list), a path
    under a file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.json").write_text("")
    (folder / "list.json").write_text("[1, 2]")
    (folder / "object.json").write_text('{"predictor": {"coefficients": {"lstm": {"5": {"x": 1}}}}}')
    (folder / "binary.npz").write_bytes(b"\x00\xff\x93NUMPY garbage")
    (folder / "text.txt").write_text("not a weight file\n")
    return [str(folder / "missing.json"), str(folder / "missing-folder" / "x.npz"), str(folder),
            str(folder / "empty.json"), str(folder / "list.json"), str(folder / "object.json"),
            str(folder / "binary.npz"), str(folder / "text.txt"), str(folder / "text.txt" / "under-a-file")]


def flags_of(parser: argparse.ArgumentParser) -> list[str]:
    """The long flags ``parser`` accepts (read from its usage line), without --help."""
    return sorted(set(re.findall(r"(?<![\w-])--[A-Za-z][\w-]*", parser.format_usage())) - {"--help"})


def argv_of(data: Any, flags: Sequence[str], values: Sequence[str], *, max_flags: int = 4) -> list[str]:
    """Draw a command line from ``flags`` (repeats allowed) with values from ``values``: ``--f=v``, ``--f v`` or a bare
    ``--f``, and now and then a stray word."""
    argv: list[str] = []
    for flag in data.draw(st.lists(st.sampled_from(list(flags)), max_size=max_flags), label="flags"):
        value = data.draw(st.sampled_from(list(values)), label=flag)
        form = data.draw(st.sampled_from(["=", " ", "bare"]), label="form")
        argv += [f"{flag}={value}"] if form == "=" else [flag, value] if form == " " else [flag]
    if data.draw(st.booleans(), label="stray word"):
        argv.insert(data.draw(st.integers(0, len(argv)), label="at"), data.draw(st.sampled_from(list(values))))
    return argv


def settings_or_usage_error(prog: str, parse: Callable[[list[str]], Any], argv: list[str], *,
                            subcommand: bool = False) -> Any:
    """``parse(argv)``'s result, or None after asserting it ended with exit code 2 and exactly one line on stderr that
    starts with ``prog: error:`` (with ``subcommand``, ``prog`` and the words of a subcommand, ``dynlatch run NAME:
    error:``); any other exception propagates (the test fails)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parse(argv)
    except SystemExit as e:
        assert e.code == 2, (argv, e.code, err.getvalue())
        lines = err.getvalue().strip().splitlines()
        words = r"( [\w-]+)*" if subcommand else ""
        assert len(lines) == 1 and re.match(rf"{re.escape(prog)}{words}: error: ", lines[0]), (argv, lines)
        return None
