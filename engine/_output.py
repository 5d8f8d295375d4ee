"""Output paths of the commands that write files (``impact --report``, ``population --out``, ``docs --out``):
checked before the work starts, so that a path that cannot be written costs a clear message, not a finished
run and a traceback; :func:`writing` turns a failure while writing (a full disk) into the same error."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputPathError


def check_output_file(path: Path) -> None:
    """Raise OutputPathError unless ``path`` can be created or overwritten as a file."""
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder: give the name of a file to write")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{path} exists and cannot be overwritten (no permission)")
    _check_folder_writable(path.parent if str(path.parent) else Path("."), path)


def check_output_folder(path: Path) -> None:
    """Raise OutputPathError unless ``path`` is a writable folder or can be created as one."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{path} is a file, not a folder: give a folder to write into")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputPathError(f"cannot write into the folder {path} (no permission)")
        return
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    _check_folder_writable(existing, path)


def _check_folder_writable(folder: Path, target: Path) -> None:
    if not folder.exists():
        raise OutputPathError(f"cannot write {target}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {target}: no permission to write in {folder}")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError raised while writing ``path`` into OutputPathError."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from None
