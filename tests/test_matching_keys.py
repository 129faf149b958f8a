"""Matching keys (e-mail, phone, IBAN) are stored as keyed hashes (bountyguard/matching_keys.py): after
identity resolution no table of the database file but the current state (referrers, candidates) holds
a raw or normalised e-mail, phone or IBAN, nor the key; another key id makes the cached hashes stale;
no key, no resolution. Both key lists (matching and report keys) can come from an Airflow connection."""
from __future__ import annotations

import hashlib
import json
import secrets

import duckdb
import pytest

from bountyguard import cli, matching_keys, normalize, signing
from bountyguard.identity import IdentityConfig, resolve_persons
from bountyguard.matching_keys import KEYS_ENV, MatchingKeyError

from tests.test_identity import CANDIDATES, REFERRERS, load, persons_by_record

CURRENT_STATE = ("referrers", "candidates")


def contact_values() -> set[str]:
    """Every raw and normalised e-mail, phone and IBAN of the test records (at least 6 characters)."""
    values = set()
    for rows, columns in ((REFERRERS, (1, 2, 3)), (CANDIDATES, (1, 2))):
        for row in rows.values():
            city = row[5] if rows is REFERRERS else row[4]
            for i in columns:
                raw = row[i]
                if raw is None:
                    continue
                values.add(raw)
                keys = {1: [normalize.email_key(raw)],
                        2: [normalize.phone_key(raw, city, "DE,RU,UA"),
                            normalize.phone_national_key(raw, city, "DE,RU,UA")],
                        3: [normalize.iban_key(raw)]}[i]
                values.update(k for k in keys if k)
    return {v for v in values if len(v) >= 6}


def stored_text(con, tables) -> str:
    """The text of every row of `tables`, as one string to search."""
    return "\n".join(str(row) for table in tables for row in con.execute(f'SELECT * FROM "{table}"').fetchall())


@pytest.fixture
def resolved_file(tmp_path):
    path = tmp_path / "identity.duckdb"
    con = duckdb.connect(str(path))
    load(con, REFERRERS, CANDIDATES)
    resolve_persons(con, IdentityConfig.from_config())
    con.execute("CHECKPOINT")
    yield path, con
    con.close()


def test_no_table_but_the_current_state_holds_an_email_phone_or_iban(resolved_file):
    path, con = resolved_file
    tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
    assert {"person_records", "person_links", "identity_key_hashes"} <= set(tables)
    values = contact_values()
    assert len(values) > 40
    assert values & set(stored_text(con, CURRENT_STATE).replace("'", "\n").split("\n"))  # the scan can see them
    text = stored_text(con, [t for t in tables if t not in CURRENT_STATE])
    found = sorted(v for v in values if v in text)
    assert not found, f"stored outside the current state: {found[:3]}"
    # a keyed hash, not a plain one: a guessed e-mail's SHA-256 finds nothing
    email = normalize.email_key("max@example.org")
    assert hashlib.sha256(email.encode()).hexdigest() not in text
    # the secret itself is nowhere in the database file
    key_id, secret = matching_keys.current_key()
    con.execute("CHECKPOINT")
    assert secret not in path.read_bytes()
    assert con.execute("SELECT DISTINCT key_id FROM identity_key_hashes").fetchall() == [(key_id,)]


def test_equal_values_still_link_and_evidence_shows_the_masked_iban(resolved_file):
    _, con = resolved_file
    persons = persons_by_record(con)
    # e-mail alias, phone formats and IBAN spellings still agree once hashed
    assert persons[("referrer", "r-sergey")] == persons[("candidate", "c-sergey-alias")]
    assert persons[("referrer", "r-sergey")] == persons[("candidate", "c-sergey-phone")]
    rows = dict(con.execute("SELECT record_id, iban_key FROM person_records WHERE record_type = 'referrer' "
                            "AND record_id IN ('r-max', 'r-erika')").fetchall())
    assert rows["r-max"] == rows["r-erika"] and len(rows["r-max"]) == 64
    masked = dict(con.execute("SELECT record_id, iban_masked FROM person_records WHERE record_id = 'r-juergen'"
                              ).fetchall())
    assert masked == {"r-juergen": "GB…5432"}


def test_another_key_id_makes_the_cached_hashes_stale(resolved_file, monkeypatch):
    _, con = resolved_file
    before = persons_by_record(con)
    old_keys = dict(con.execute("SELECT record_id, email_key FROM person_records WHERE email_key IS NOT NULL"
                                ).fetchall())
    monkeypatch.setenv(KEYS_ENV, "rotated:" + secrets.token_hex(32))
    stats = resolve_persons(con, IdentityConfig.from_config())
    assert stats["normalised_values"] > 0  # everything hashed again under the new key
    assert con.execute("SELECT DISTINCT key_id FROM identity_key_hashes").fetchall() == [("rotated",)]
    new_keys = dict(con.execute("SELECT record_id, email_key FROM person_records WHERE email_key IS NOT NULL"
                                ).fetchall())
    assert new_keys.keys() == old_keys.keys() and not set(new_keys.values()) & set(old_keys.values())
    assert persons_by_record(con) == before  # the same persons


def test_without_a_matching_key_identity_resolution_does_not_run(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(KEYS_ENV)
    monkeypatch.delenv("AIRFLOW_CONN_BOUNTYGUARD_MATCHING_KEYS", raising=False)
    con = duckdb.connect()
    load(con, REFERRERS, CANDIDATES)
    with pytest.raises(MatchingKeyError, match=f"{KEYS_ENV} is not set"):
        resolve_persons(con, IdentityConfig.from_config())
    assert "person_records" not in {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    # nor does a screening run start
    (tmp_path / "landing").mkdir()
    db = tmp_path / "x.duckdb"
    assert cli.main(["run", "--landing", str(tmp_path / "landing"), "--db", str(db), "--as-of", "2026-06-30"]) == 2
    assert f"{KEYS_ENV} is not set" in capsys.readouterr().err
    assert not db.exists()


def airflow_connection(monkeypatch, connection_id: str, password: str) -> None:
    """An Airflow connection as Airflow's environment secrets backend reads it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{connection_id.upper()}",
                       json.dumps({"conn_type": "generic", "password": password}))


@pytest.mark.parametrize("env, connection_id, read", [
    (KEYS_ENV, matching_keys.CONNECTION_ID, lambda: matching_keys.current_key()[0]),
    (signing.KEYS_ENV, signing.CONNECTION_ID, signing.signing_key_id),
])
def test_keys_come_from_an_airflow_connection_when_the_variable_is_unset(monkeypatch, env, connection_id, read):
    pytest.importorskip("airflow")
    monkeypatch.delenv(env)
    airflow_connection(monkeypatch, connection_id, "from-airflow:" + secrets.token_hex(32))
    assert read() == "from-airflow"
    # the environment variable, when set, wins
    monkeypatch.setenv(env, "from-env:" + secrets.token_hex(32))
    assert read() == "from-env"
    # a connection's keys are checked like the variable's, without echoing the secret
    monkeypatch.delenv(env)
    airflow_connection(monkeypatch, connection_id, "short:tooshort")
    with pytest.raises(BaseException, match="shorter than") as info:
        read()
    assert "tooshort" not in str(info.value)


def test_the_earlier_clear_text_key_cache_is_dropped_from_an_existing_file():
    con = duckdb.connect()
    load(con, REFERRERS, CANDIDATES)
    con.execute("CREATE TABLE identity_key_cache (version INTEGER, kind VARCHAR, raw VARCHAR, context VARCHAR, "
                "key VARCHAR)")
    con.execute("INSERT INTO identity_key_cache VALUES (2, 'email', 'max@example.org', '', 'max@example.org')")
    resolve_persons(con, IdentityConfig.from_config())
    assert "identity_key_cache" not in {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


@pytest.mark.parametrize("secret", ["s" * 32, "k" * 64, "longer-than-one-sha256-block-" * 5])
def test_the_sql_hash_is_hmac_sha256_and_keeps_the_secret_out_of_sql(monkeypatch, secret):
    """bg_matching_hash runs in SQL (vectorised); it must be exactly RFC 2104 HMAC-SHA256, for keys
    shorter than, equal to and longer than the hash's block, and on any text."""
    import hmac

    monkeypatch.setenv(KEYS_ENV, f"m9:{secret}")
    con = duckdb.connect()
    assert matching_keys.register(con) == "m9"
    values = ["anna.mueller+tag@example.de", "", "Юлия Щукина", "ß😀\u0301", "x" * 500]
    got = [row[0] for row in con.execute("SELECT bg_matching_hash(v) FROM unnest(?::VARCHAR[]) t(v)",
                                         [values]).fetchall()]
    assert got == [hmac.new(secret.encode(), v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert con.execute("SELECT bg_matching_hash(NULL)").fetchone()[0] is None
    definitions = " ".join(str(row) for row in con.execute(
        "SELECT function_name, macro_definition FROM duckdb_functions() WHERE function_name LIKE 'bg_%'").fetchall())
    assert "bg_matching_hash" in definitions and secret not in definitions
