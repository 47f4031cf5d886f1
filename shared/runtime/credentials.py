"""Runtime credentials: passwords generated into COPRO_HOME (mode 0600), and URLs that carry them.

The embedded PostgreSQL and NATS servers require passwords; they are made
here on first use, kept in small JSON files readable by their owner only,
and never written anywhere in the repository. A file found with looser
permissions is tightened, so an old home cannot leak them to other users.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

SECRET_MODE = 0o600


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, never readable by anyone but the owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def made_once(path: Path, content: bytes) -> bytes:
    """What ``path`` holds (mode 0600), made with ``content`` if it does not exist yet: a key or token every
    process of an installation shares. Processes starting at once each write a temporary and link it into
    place; one wins and every one reads the winner's whole file, never a half-written one (an O_EXCL create
    followed by a write let a second process read the file empty between the two)."""
    if path.exists():
        if path.stat().st_mode & 0o777 != SECRET_MODE:
            path.chmod(SECRET_MODE)  # an old home's looser file is tightened, as passwords() does
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: its file is the one
            os.link(temporary, path)
    finally:
        temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the name survives a crash, as the data sealed with the key will
    finally:
        os.close(directory)
    return path.read_bytes()


def passwords(path: Path, names: Sequence[str]) -> dict[str, str]:
    """The password of each name in ``path`` (JSON), generating the missing ones; the file is mode 0600."""
    known: dict[str, str] = {}
    if path.exists():
        if path.stat().st_mode & 0o777 != SECRET_MODE:
            path.chmod(SECRET_MODE)
        known = json.loads(path.read_text() or "{}")
    missing = [name for name in names if not known.get(name)]
    if missing:
        # URL-safe, so a password can stand in a connection URL without escaping
        known.update({name: secrets.token_urlsafe(32) for name in missing})
        _write_private(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
    return {name: known[name] for name in names}


def read_passwords(path: Path) -> dict[str, str]:
    """Every name and password in a credentials file (as ``passwords`` writes it)."""
    found = json.loads(path.read_text())
    if not isinstance(found, dict):
        raise RuntimeError(f"{path} is not a JSON object of user names and passwords")
    return {str(k): str(v) for k, v in found.items()}


def with_user(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` in place of whatever credentials it had."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:{password}@{host}").geturl()


def user_of(url: str) -> str | None:
    """The user name a connection URL logs in as, if it names one."""
    name = urlsplit(url).username
    return unquote(name) if name else None


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``, for printing and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}").geturl()
