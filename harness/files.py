"""Files of a run folder: written atomically, read back leniently.

Every file the harness writes goes through ``write_atomic`` (or ``atomic_writer`` for streamed
content): a temporary file in the same folder, flushed, then renamed over the target, so a crash
or a Ctrl-C never leaves half a file where a whole one is expected.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_writer(
    path: Path | str, *, newline: str | None = None, durable: bool = True
) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` only when the block ends without error.

    ``durable`` also fsyncs before the rename (a file that must survive a power cut); a file
    rewritten several times a second (live progress) skips it: the rename alone is atomic."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path | str, text: str, *, durable: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file + rename); return the path."""
    with atomic_writer(path, durable=durable) as handle:
        handle.write(text)
    return Path(path)


def tail(path: Path | str, lines: int = 3, default: str = "") -> str:
    """The last ``lines`` non-blank lines of a log, joined by " | " (``default`` if unreadable)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return default
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
