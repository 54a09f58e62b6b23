"""Task 1: scrypt password hashes, salted, self-describing, compared in constant time."""

from __future__ import annotations

import hashlib

import pytest

from .passwords import COST, hash_password, verify_password


def scrypt_hex(password: str, salt: bytes, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32).hex()


@pytest.mark.task(1)
def test_the_hash_is_scrypt_of_the_utf8_password_with_its_parameters_and_salt() -> None:
    password = "pässwörd ✓"
    stored = hash_password(password)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", COST["n"], COST["r"], COST["p"])
    assert len(bytes.fromhex(salt)) == 16, "a 16-byte salt, hex-encoded"
    assert digest == scrypt_hex(password, bytes.fromhex(salt), COST["n"], COST["r"], COST["p"])
    assert password not in stored


@pytest.mark.task(1)
def test_each_hash_has_its_own_salt_and_both_verify() -> None:
    first, second = hash_password("hunter2"), hash_password("hunter2")
    assert first != second, "a random salt per hash: equal passwords must not give equal hashes"
    assert verify_password("hunter2", first) and verify_password("hunter2", second)


@pytest.mark.task(1)
@pytest.mark.parametrize("attempt", ["hunter3", "Hunter2", "hunter2 ", "", "hunter"])
def test_a_wrong_password_does_not_verify(attempt: str) -> None:
    assert verify_password(attempt, hash_password("hunter2")) is False


@pytest.mark.task(1)
def test_verify_reads_the_parameters_from_the_stored_hash() -> None:
    """A hash stored before the cost was raised still verifies: use its n, r, p and length."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"old secret", salt=salt, n=2**10, r=4, p=2, dklen=24).hex()
    stored = f"scrypt${2**10}$4$2${salt.hex()}${digest}"
    assert verify_password("old secret", stored) is True
    assert verify_password("new secret", stored) is False
    for scheme in ("pbkdf2$", "yescrypt$"):
        other_scheme = stored.replace("scrypt$", scheme, 1)
        assert verify_password("old secret", other_scheme) is False, "only scrypt is known"


@pytest.mark.task(1)
@pytest.mark.parametrize(
    "stored",
    [
        "",
        "hunter2",
        "scrypt$16384$8$1$00",
        "scrypt$lots$8$1$00$00",
        "scrypt$16384$8$1$zz$00",
        "scrypt$16384$8$1$00$",
        "scrypt$3$8$1$00$00",
    ],
    ids=["empty", "plain", "short", "bad-n", "bad-salt", "no-hash", "n-not-pow2"],
)
def test_a_malformed_stored_hash_is_false_not_an_exception(stored: str) -> None:
    assert verify_password("hunter2", stored) is False
