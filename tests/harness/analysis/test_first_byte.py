"""Time to the body's first byte: read from the samples, its percentiles, and the sentence a
streamed response earns (not a plain one, whose body comes with its head)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.analysis import first_byte


def test_the_column_is_numbers_or_absent() -> None:
    frame = pd.DataFrame({"first_byte_ms": ["12.5", "", "20"]})
    values = first_byte.column(frame)
    assert values is not None and values[0] == 12.5 and np.isnan(values[1])
    assert first_byte.column(pd.DataFrame({"first_byte_ms": ["", ""]})) is None
    assert first_byte.column(pd.DataFrame({"start": [1.0]})) is None  # an older file


def test_percentiles_of_the_kept_samples_only() -> None:
    values = np.array([10.0, 20.0, np.nan, 1000.0])
    kept = np.array([True, True, True, False])
    found = first_byte.percentiles(values, kept)
    assert found[50] == 15.0 and found[99] < 20.0
    assert first_byte.percentiles(None, kept) == {}


def test_a_streamed_body_earns_a_sentence_a_whole_one_does_not() -> None:
    streamed = pd.Series(
        {
            "users": 50,
            "first_byte_p50_ms": 12.3,
            "first_byte_p99_ms": 30.0,
            "p50_ms": 201.0,
            "p99_ms": 250.0,
        }
    )
    assert first_byte.sentence("async stream", streamed) == (
        "async stream: the body's first byte after p50 12.3 ms (p99 30.0), the whole response "
        "after p50 201.0 ms (p99 250.0) at 50 users"
    )
    whole = streamed.copy()
    whole["first_byte_p50_ms"] = 199.0
    assert first_byte.sentence("async hello", whole) == ""
