"""Output paths of the commands that write files (``impact --report``, ``population --out``, ``docs --out``):
checked before the work starts, so that a path that cannot be written costs a clear message, not a finished
run and a traceback; :func:`writing` turns a failure while writing (a full disk) into the same error."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ._i18n import gettext as _
from .errors import OutputPathError


def check_output_file(path: Path) -> None:
    """Raise OutputPathError unless ``path`` can be created or overwritten as a file."""
    if path.is_dir():
        raise OutputPathError(_("{path} is a folder: give the name of a file to write").format(path=path))
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(_("{path} exists and cannot be overwritten (no permission)").format(path=path))
    _check_folder_writable(path.parent if str(path.parent) else Path("."), path)


def check_output_folder(path: Path) -> None:
    """Raise OutputPathError unless ``path`` is a writable folder or can be created as one."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(_("{path} is a file, not a folder: give a folder to write into").format(path=path))
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputPathError(_("cannot write into the folder {path} (no permission)").format(path=path))
        return
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    _check_folder_writable(existing, path)


def _check_folder_writable(folder: Path, target: Path) -> None:
    if not folder.exists():
        raise OutputPathError(_("cannot write {path}: the folder {folder} does not exist").format(
            path=target, folder=folder))
    if not folder.is_dir():
        raise OutputPathError(_("cannot write {path}: {folder} is not a folder").format(path=target, folder=folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(_("cannot write {path}: no permission to write in {folder}").format(
            path=target, folder=folder))


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError raised while writing ``path`` into OutputPathError."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(_("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
                              ) from None
