"""The report's signature: report_sha256 is an HMAC-SHA256 under a secret key, not a plain hash.

A plain SHA-256 proves only that the files agree with each other: anyone who can write the published
folder can change a decision or an IBAN in the release batch and recompute every hash. With a keyed
signature they also need the key, which lives only in the environment of the screening run and of the
payout job: never in the repository, the configuration file, the DuckDB file or the report.

The keys come from one environment variable, ``BOUNTYGUARD_REPORT_KEYS``:

    BOUNTYGUARD_REPORT_KEYS="k2026b:<secret>,k2026a:<older secret>"

a comma-separated list of ``key_id:secret`` pairs (secret at least 32 characters). The FIRST key signs
new reports; every listed key verifies. The report names the key that signed it (``report_key_id``,
covered by the signature), so a key rotates by putting the new one first, keeping the old one while
its reports are still needed, then removing it: a report signed by a key that is no longer listed is
refused. Without the variable nothing is signed and nothing is paid (fail closed).

Under Airflow the same list may instead be the password of the connection ``bountyguard_report_keys``
(read only when the variable is unset; `configured_keys` reads every key list of bountyguard).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re

from bountyguard.errors import BountyguardError

log = logging.getLogger(__name__)

KEYS_ENV = "BOUNTYGUARD_REPORT_KEYS"
CONNECTION_ID = "bountyguard_report_keys"  # the Airflow connection read when KEYS_ENV is unset
MIN_SECRET_CHARS = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SigningKeyError(BountyguardError):
    """No usable report key is configured: nothing can be signed or verified."""


def configured_keys(env: str, connection_id: str, error: type[BountyguardError] = SigningKeyError,
                    purpose: str = "reports cannot be signed or verified, so nothing is published or paid",
                    ) -> list[tuple[str, bytes]]:
    """The ``key_id:secret,...`` list of the environment variable `env`, else (unset, and Airflow
    installed) of the password of the Airflow connection `connection_id`; raises `error` when neither
    holds one. Every key list of bountyguard (report keys, matching keys) is read and checked here."""
    raw = os.environ.get(env, "").strip() or _airflow_connection_password(connection_id)
    if not raw:
        raise error(
            f"{env} is not set (nor the Airflow connection {connection_id}): {purpose} "
            f"(set it to key_id:secret, a secret of at least {MIN_SECRET_CHARS} characters, e.g. "
            "`python -c 'import secrets; print(\"k1:\" + secrets.token_hex(32))'`)"
        )
    keys: list[tuple[str, bytes]] = []
    for n, entry in enumerate(raw.split(","), start=1):
        key_id, sep, secret = entry.strip().partition(":")
        # the message names the entry by position only: it must never echo a secret
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise error(f"{env}: entry {n} is not key_id:secret (key id: letters, digits, _ . -)")
        if len(secret) < MIN_SECRET_CHARS:
            raise error(f"{env}: the secret of key {key_id!r} is shorter than {MIN_SECRET_CHARS} characters")
        if any(k == key_id for k, _ in keys):
            raise error(f"{env}: key id {key_id!r} is listed twice")
        keys.append((key_id, secret.encode()))
    return keys


def _airflow_connection_password(connection_id: str) -> str:
    """The password field of an Airflow connection ('' when Airflow is not installed or the connection
    does not exist). Airflow looks in its secrets backends: AIRFLOW_CONN_<ID> environment variables,
    then the metadata database (or, inside a running task, asks its supervisor)."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # no Airflow here: the environment variable is the only source
        return ""
    try:
        connection = BaseHook.get_connection(connection_id)
    except Exception as exc:  # AirflowNotFoundException and friends: no such connection
        log.debug("no Airflow connection %s (%s)", connection_id, type(exc).__name__)
        return ""
    return (connection.password or "").strip()


def _keys() -> list[tuple[str, bytes]]:
    return configured_keys(KEYS_ENV, CONNECTION_ID)


def signing_key_id() -> str:
    """The id of the key that signs new reports (raises SigningKeyError when none is configured)."""
    return _keys()[0][0]


def accepted_key_ids() -> list[str]:
    return [key_id for key_id, _ in _keys()]


def sign(message: bytes, key_id: str) -> str:
    """HMAC-SHA256 of `message` under the key `key_id`, as 64 lowercase hex digits."""
    for known, secret in _keys():
        if known == key_id:
            return hmac.new(secret, message, hashlib.sha256).hexdigest()
    raise SigningKeyError(
        f"report key {key_id!r} is not among the accepted keys in {KEYS_ENV} "
        f"({', '.join(accepted_key_ids())}): it was retired or never ours"
    )


def matches(signature: str, message: bytes, key_id: str) -> bool:
    return hmac.compare_digest(str(signature or ""), sign(message, key_id))
