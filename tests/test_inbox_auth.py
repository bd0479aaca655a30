"""Inbox credentials: scrypt hashes that carry their cost, and signed, expiring session cookies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from handlers.inbox_auth import (
    SESSION_LIFETIME,
    hash_password,
    make_session_cookie,
    read_session_cookie,
    verify_password,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_hash_carries_its_parameters_and_verifies() -> None:
    stored = hash_password("rätt lösenord")
    scheme, cost, salt, digest = stored.split("$")
    assert (scheme, cost) == ("scrypt", "n=16384,r=8,p=1") and len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32
    assert verify_password("rätt lösenord", stored)
    assert not verify_password("fel lösenord", stored)
    assert hash_password("rätt lösenord") != stored  # a new salt each time


def test_other_parameters_and_hashes_from_before_they_were_stored_still_verify() -> None:
    salt = bytes(range(16))
    cheap = hashlib.scrypt(b"pw", salt=salt, n=2**10, r=8, p=1, dklen=32)
    assert verify_password("pw", f"scrypt$n=1024,r=8,p=1${salt.hex()}${cheap.hex()}")
    old = hashlib.scrypt(b"pw", salt=salt, n=2**14, r=8, p=1, dklen=32)
    assert verify_password("pw", f"scrypt${salt.hex()}${old.hex()}")


def test_malformed_hashes_never_verify() -> None:
    for stored in [None, "", "scrypt", "md5$aa$bb", "scrypt$n=x,r=8,p=1$00$00",
                   "scrypt$n=3,r=8,p=1$00$00", "scrypt$q=1$00$00", "scrypt$zz$zz"]:  # fmt: skip
        assert not verify_password("pw", stored)


def test_session_cookie_is_signed_and_expires_by_the_injected_clock() -> None:
    cookie = make_session_cookie(session_token="t1", now=NOW, secret="s" * 32)
    assert read_session_cookie(cookie, now=NOW, secret="s" * 32) == "t1"
    later = NOW + SESSION_LIFETIME + timedelta(seconds=1)
    assert read_session_cookie(cookie, now=later, secret="s" * 32) is None
    assert read_session_cookie(cookie, now=NOW, secret="t" * 32) is None
    tampered = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert read_session_cookie(tampered, now=NOW, secret="s" * 32) is None
    for junk in [None, "", "a.b", "....", "x" * 500]:
        assert read_session_cookie(junk, now=NOW, secret="s" * 32) is None
