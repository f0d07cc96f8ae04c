"""A small TOML writer (the standard library's ``tomllib`` only reads).

Writes str, bool, int, finite float, lists and tables.  At the top level,
tables become ``[sections]`` and lists of tables ``[[arrays of tables]]``;
below it, tables of tables become dotted keys (``regimen.doses = ...``), a
list of tables a multi-line array of inline tables, and any other table an
inline ``{ ... }``.  ``tomllib.loads(dumps(d)) == d`` (tuples come back as lists).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def dumps(data: Mapping) -> str:
    """TOML text of the table `data`."""
    lines: list[str] = []
    later: list[str] = []
    for k, v in data.items():
        if isinstance(v, Mapping):
            later += ["", f"[{key(k)}]", *_pairs((), v)]
        elif _is_table_list(v):
            for item in v:
                later += ["", f"[[{key(k)}]]", *_pairs((), item)]
        else:
            lines.append(f"{key(k)} = {value(v)}")
    return "\n".join(lines + later).strip("\n") + "\n"


def key(k: str) -> str:
    """A bare key if TOML allows it, else a quoted one."""
    if not isinstance(k, str):
        raise TypeError(f"TOML keys are strings, got {k!r}")
    return k if _BARE_KEY.match(k) else _string(k)


def value(v) -> str:
    """Inline TOML text of a value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"only finite floats are written, got {v!r}")
        short = f"{v:.6g}"
        text = short if float(short) == v else repr(v)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _is_table_list(v) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _pairs(prefix: tuple, data: Mapping) -> list[str]:
    """``key = value`` lines of `data` under the dotted `prefix`."""
    lines = []
    for k, v in data.items():
        name = (*prefix, k)
        if isinstance(v, Mapping) and any(isinstance(x, Mapping) or _is_table_list(x)
                                          for x in v.values()):
            lines += _pairs(name, v)
        elif _is_table_list(v):
            rows = "".join(f"  {value(x)},\n" for x in v)
            lines.append(f"{'.'.join(map(key, name))} = [\n{rows}]")
        else:
            lines.append(f"{'.'.join(map(key, name))} = {value(v)}")
    return lines
