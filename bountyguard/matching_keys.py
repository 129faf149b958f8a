"""Keyed hashes of matching keys: e-mails, phones and IBANs are compared as HMAC-SHA256 values.

Identity resolution links records on equal e-mails, phones and IBANs and keeps what it computed
between runs (sql/schema/identity.sql). Stored in clear, those tables would be one more copy of
everybody's contact data and bank account. They hold keyed hashes instead: HMAC-SHA256 under a secret
key, so equal values still give equal hashes (every comparison on these keys is an equality), but
someone who reads the DuckDB file cannot recompute them from a guessed e-mail or IBAN without the key.
Raw values stay only in the current state tables (referrers, candidates) and in what a payment needs
(the release batch and the payment instructions, which take the IBAN from the referrer's record).

The key comes from ``BOUNTYGUARD_MATCHING_KEYS="key_id:secret"`` (the format of the report keys,
read by signing.configured_keys; under Airflow, else the connection ``bountyguard_matching_keys``).
Only the first key is used: hashes are never verified, only compared with each other. The key id is
stored with every cached hash, so another key makes them stale and they are computed again. Without
a key identity resolution stops (fail closed): it never falls back to storing values in clear.

`register(con)` makes the hash a DuckDB function, ``bg_matching_hash(text)``: HMAC-SHA256 written in
SQL over DuckDB's sha256 (RFC 2104: sha256(key ^ opad || sha256(key ^ ipad || text))), so it runs
vectorised on every core. Every run hashes each distinct raw value to find it in the key cache, 2.7
million values at 1M referrals: as a Python function that alone took 10 s of a daily run. The padded
keys are connection variables set with a bound parameter, so the secret never appears in SQL text,
a macro definition, a query log or a profile, and never in the file. `hasher(secret)` is the same hash
in Python (tests check the two agree).
"""
from __future__ import annotations

import hashlib
import hmac

import duckdb

from bountyguard.db import run_sql_file
from bountyguard.errors import BountyguardError
from bountyguard.signing import configured_keys

KEYS_ENV = "BOUNTYGUARD_MATCHING_KEYS"
CONNECTION_ID = "bountyguard_matching_keys"


class MatchingKeyError(BountyguardError):
    """No usable matching key: identity resolution cannot store its keys, so it does not run."""


def current_key() -> tuple[str, bytes]:
    """(key id, secret) of the key that hashes matching keys."""
    return configured_keys(KEYS_ENV, CONNECTION_ID, MatchingKeyError,
                           "matching keys cannot be hashed, so identity resolution does not run")[0]


def hasher(secret: bytes):
    def keyed_hash(value: str | None) -> str | None:
        if value is None:
            return None
        return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return keyed_hash


def register(con: duckdb.DuckDBPyConnection) -> str:
    """Define bg_matching_hash(text) on `con` under the current key; returns the key id."""
    key_id, secret = current_key()
    block = secret if len(secret) <= _BLOCK_SIZE else hashlib.sha256(secret).digest()
    block = block.ljust(_BLOCK_SIZE, b"\0")
    for name, pad in (("bg_matching_ipad", 0x36), ("bg_matching_opad", 0x5C)):
        con.execute(f"SET VARIABLE {name} = ?", [bytes(b ^ pad for b in block)])
    run_sql_file(con, "identity/matching_hash.sql")
    return key_id


_BLOCK_SIZE = 64  # SHA-256's block size in bytes, as HMAC pads the key
