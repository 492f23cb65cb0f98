"""``mask_secrets``: no password survives, nothing else changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_app.secrets import mask_secrets, redact_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:hunter2@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "postgresql://u@h/db?password=hunter2&sslmode=off",
            "postgresql://u@h/db?password=***&sslmode=off",
        ),
        (
            "--setting database_url=postgresql://a:hunter2@c/d",
            "--setting database_url=postgresql://a:***@c/d",
        ),
        ("host=h user=u password=hunter2 dbname=d", "host=h user=u password=*** dbname=d"),
        (
            "to postgresql://u@h/db?PASSWORD=hunter2: refused",
            "to postgresql://u@h/db?PASSWORD=***: refused",
        ),
        ("http://127.0.0.1:8000/sync/sleep?ms=100", "http://127.0.0.1:8000/sync/sleep?ms=100"),
        ("sqlite:///tmp/bench.sqlite3", "sqlite:///tmp/bench.sqlite3"),
        ("3 errors (0.8%), p=0.03", "3 errors (0.8%), p=0.03"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


def test_a_password_holding_an_at_sign() -> None:
    assert redact_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"


SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789!$%*()_+-~", min_size=4)


@given(SAFE, st.sampled_from(["userinfo", "query", "conninfo"]))
def test_no_generated_password_survives(password: str, form: str) -> None:
    template = {
        "userinfo": "error: cannot connect to postgresql://me:{}@127.0.0.1:1/db: refused",
        "query": "postgresql://me@127.0.0.1/db?sslmode=off&password={}",
        "conninfo": "host=127.0.0.1 password={} dbname=x",
    }[form]
    assert mask_secrets(template.format(password)) == template.format("***")
