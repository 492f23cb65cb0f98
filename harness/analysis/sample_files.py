"""Reading a samples file: one parse with the columns' types, and a careful one for a file that
is not whole (garbage, a last row cut short by a crash, an empty file).

Whatever reads samples goes through ``read``: what counts as a sample, and what is dropped and
counted as a bad row, is decided here once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import BenchError
from locustfiles.protocol import SAMPLE_COLUMNS

# files before mixes have no name, files before the fairness record no user
# files before the open model have no sent and service_ms (empty in closed-model rows)
# files before the time to first byte have no first_byte_ms
REQUIRED = frozenset(SAMPLE_COLUMNS) - {
    "bytes",
    "name",
    "user",
    "sent",
    "service_ms",
    "first_byte_ms",
}
# What a samples file holds when it is whole: parsed with these types and no missing-value
# detection (the error column is mostly empty strings, which stay empty strings).
DTYPES = {
    "start": "float64",
    "elapsed_ms": "float64",
    "status": "int64",
    "bytes": "int64",
    "error": "str",
    "name": "str",
    "user": "int64",
    "worker": "int64",  # the distributed mode's files only (their users are unique over workers)
}


def stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise BenchError(f"{path}: unreadable samples ({exc.strerror or exc})") from None


def read(path: str) -> pd.DataFrame:
    """The samples of a file, with ``end``.

    Rows that are not samples (garbage, a last row cut short by a crash) are dropped and
    counted in ``frame.attrs["bad_rows"]``; an empty file is a measurement with no sample.
    A whole file is parsed with its columns' types; one that is not takes the careful way."""
    try:
        frame = pd.read_csv(
            path,
            dtype=DTYPES,
            na_filter=False,
            engine="c",
            on_bad_lines="skip",
        )
    except ValueError:  # a field that is not a number, a row cut short, an empty file…
        return _read_damaged(path)
    except OSError as exc:
        raise BenchError(f"{path}: unreadable samples ({exc})") from None
    _check_columns(path, frame)
    if frame["start"].isna().any() or frame["elapsed_ms"].isna().any():  # "nan" as a number
        return _read_damaged(path)
    frame["end"] = frame["start"] + frame["elapsed_ms"] / 1000.0
    frame.attrs = {"bad_rows": _data_lines(path) - len(frame)}
    return frame


def _read_damaged(path: str) -> pd.DataFrame:
    """The careful parse: every field read as text, numbers coerced, non-samples dropped."""
    try:
        frame = pd.read_csv(
            path,
            dtype={"error": "string"},
            keep_default_na=False,
            engine="c",
            on_bad_lines="skip",
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
        frame.attrs["bad_rows"] = 0
        frame.attrs["empty_file"] = True
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: unreadable samples ({exc})") from None
    _check_columns(path, frame)
    return _clean(frame, _data_lines(path))


def _check_columns(path: str, frame: pd.DataFrame) -> None:
    missing = REQUIRED - set(frame.columns)
    if missing:
        raise BenchError(f"{path}: samples lack column(s) {', '.join(sorted(missing))}")


def _data_lines(path: str) -> int:
    """Rows below the header (a last row without its newline counts too)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            newlines, last = newlines + chunk.count(b"\n"), chunk[-1:]
    return max(0, newlines + (last != b"\n") - 1)


def _clean(frame: pd.DataFrame, lines: int) -> pd.DataFrame:
    """Numbers where numbers belong; a row without a start, a response time and a status is
    not a sample (garbage, or a last row cut short)."""
    for column in ("start", "elapsed_ms", "status"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    kept = frame.dropna(subset=["start", "elapsed_ms", "status"]).copy()
    kept["status"] = kept["status"].astype(int)
    kept["error"] = kept["error"].fillna("").astype(str)
    for column in ("user", "worker"):
        if column in kept.columns:
            numbers = pd.to_numeric(kept[column], errors="coerce")
            kept[column] = numbers.fillna(-1 if column == "user" else 0).astype(np.int64)
    kept["end"] = kept["start"] + kept["elapsed_ms"] / 1000.0
    kept.attrs = {**frame.attrs, "bad_rows": lines - len(kept)}
    return kept


def empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in [
                ("start", float),
                ("elapsed_ms", float),
                ("status", int),
                ("error", str),
                ("end", float),
                ("in_window", bool),
                ("ok", bool),
            ]
        }
    )
