"""Keys and tokens every process shares are made once, whole: processes starting together (the services
under ``copro up``, the replicas of the cluster test) each read the same complete file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.access.secrets import secrets_key
from shared.access.tokens import operator_token
from shared.audit.signing import public_bytes, signing_key
from shared.runtime.credentials import made_once


def _together(count: int, work) -> list[object]:  # type: ignore[no-untyped-def]
    start, out = threading.Barrier(count), [None] * count

    def one(n: int) -> None:
        start.wait()
        out[n] = work(n)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_many_at_once_all_read_the_first_whole_file(tmp_path: Path) -> None:
    for round_ in range(20):
        path = tmp_path / f"shared-{round_}.key"
        got = _together(16, lambda n, path=path: made_once(path, os.urandom(1) * 4096))
        assert len({bytes(g) for g in got}) == 1 and got[0] == path.read_bytes() and len(got[0]) == 4096
        assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"shared-{r}.key" for r in range(20))  # no temporaries


def test_the_services_keys_and_the_operator_token_agree_across_processes_starting_at_once(tmp_path: Path) -> None:
    for round_ in range(10):
        home = tmp_path / f"home-{round_}"
        keys = _together(8, lambda n, home=home: public_bytes(signing_key(home)))
        assert len(set(keys)) == 1  # type: ignore[arg-type]
        assert len(set(_together(8, lambda n, home=home: secrets_key(home)))) == 1  # type: ignore[arg-type]
        tokens = _together(8, lambda n, home=home: operator_token(home / "operator-token"))
        assert len(set(tokens)) == 1 and tokens[0]  # type: ignore[arg-type]
    assert isinstance(signing_key(tmp_path / "home-0"), Ed25519PrivateKey)


def test_an_old_homes_looser_key_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    path.write_bytes(b"k" * 32)
    path.chmod(0o644)
    assert made_once(path, b"other") == b"k" * 32 and path.stat().st_mode & 0o777 == 0o600
