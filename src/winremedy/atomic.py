"""Atomic file replacement: readers see the old file or the new one, never half of either.

One mechanism for every file winremedy writes that someone else reads while it runs: the
repository manifest, host results, reports, remediation records, the lab's own state.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PUBLIC = 0o644  # read by others: a repository (the distribution server, a web server)
PRIVATE = 0o600  # results, reports, lab state: for the user who ran winremedy


@contextmanager
def atomic_writer(path: Path, mode: int = PUBLIC) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path``; on success fsync and rename it over ``path``, else remove it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, mode: int = PRIVATE) -> None:
    """``text`` as UTF-8 (line ends as given), replacing ``path`` atomically."""
    with atomic_writer(path, mode) as stream:
        stream.write(text.encode("utf-8"))
