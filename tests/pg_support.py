"""A fresh PostgreSQL database per test, holding the platform's tables as the platform keeps them.

The server is the one at 127.0.0.1:5432 (user postgres, trust auth; ../shared/STACK.md). When it
cannot be reached, a test FAILS in CI (env CI=true: a missing service must not pass as green) and is
SKIPPED with the reason elsewhere. Use:

    from tests.pg_support import pg_database  # noqa: F401  (a fixture)

    def test_x(pg_database): ...   # pg_database.uri, pg_database.execute(sql, params)
"""
from __future__ import annotations

import os
import uuid

import pytest

PG_HOST = os.environ.get("BOUNTYGUARD_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BOUNTYGUARD_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BOUNTYGUARD_TEST_PG_USER", "postgres")

# The platform's schema: the contract's tables and columns with PostgreSQL types
# (text, date, timestamptz, numeric(12,2), integer). Written out by hand, not generated from
# bountyguard/contract.py, so a drift between the contract as data and a real schema shows.
PLATFORM_DDL = """
CREATE TABLE referrers (
    referrer_id text PRIMARY KEY,
    full_name text NOT NULL,
    email text,
    phone text,
    payout_iban text,
    birth_date date,
    city text,
    signed_up_at timestamptz NOT NULL,
    updated_at timestamptz
);
CREATE TABLE candidates (
    candidate_id text PRIMARY KEY,
    full_name text NOT NULL,
    email text,
    phone text,
    birth_date date,
    city text,
    profile_url text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz
);
CREATE TABLE companies (
    company_id text PRIMARY KEY,
    name text NOT NULL,
    country text NOT NULL
);
CREATE TABLE jobs (
    job_id text PRIMARY KEY,
    company_id text NOT NULL REFERENCES companies,
    title text NOT NULL,
    bounty_amount numeric(12,2) NOT NULL,
    currency text NOT NULL,
    guarantee_days integer NOT NULL,
    posted_at timestamptz NOT NULL
);
CREATE TABLE referrals (
    referral_id text PRIMARY KEY,
    referrer_id text NOT NULL REFERENCES referrers,
    candidate_id text NOT NULL REFERENCES candidates,
    job_id text NOT NULL REFERENCES jobs,
    referred_at timestamptz NOT NULL,
    channel text NOT NULL,
    ip_address text,
    device_id text
);
CREATE TABLE applications (
    application_id text PRIMARY KEY,
    candidate_id text NOT NULL REFERENCES candidates,
    job_id text NOT NULL REFERENCES jobs,
    applied_at timestamptz NOT NULL,
    source text NOT NULL
);
CREATE TABLE hires (
    hire_id text PRIMARY KEY,
    referral_id text REFERENCES referrals,
    candidate_id text NOT NULL REFERENCES candidates,
    job_id text NOT NULL REFERENCES jobs,
    hired_at timestamptz NOT NULL,
    started_at date NOT NULL,
    ended_at date,
    end_reason text,
    updated_at timestamptz
);
CREATE TABLE payouts (
    payout_id text PRIMARY KEY,
    hire_id text NOT NULL REFERENCES hires,
    referral_id text NOT NULL REFERENCES referrals,
    referrer_id text NOT NULL REFERENCES referrers,
    amount numeric(12,2) NOT NULL,
    currency text NOT NULL,
    eligible_at date NOT NULL,
    status text NOT NULL,
    released_at timestamptz,
    updated_at timestamptz
);
"""


def server_uri(dbname: str = "postgres") -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


class PgDatabase:
    """One fresh database: its URI and a helper to run statements in it (autocommit)."""

    def __init__(self, name: str):
        import psycopg

        self.name = name
        self.uri = server_uri(name)
        self.conn = psycopg.connect(self.uri, autocommit=True)

    def execute(self, sql: str, params=None):
        return self.conn.execute(sql, params)

    def insert(self, table: str, **values) -> None:
        cols = ", ".join(values)
        marks = ", ".join(f"%({c})s" for c in values)
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)

    def create_platform_schema(self) -> None:
        self.conn.execute(PLATFORM_DDL)

    def close(self) -> None:
        self.conn.close()


def _unreachable(reason: str):
    message = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is not reachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the service must be running)", pytrace=False)
    pytest.skip(message + " (set CI=true to make this a failure)")


@pytest.fixture
def pg_database():
    """A fresh, empty database (dropped afterwards)."""
    try:
        import psycopg
    except ImportError as exc:  # the dependency itself is missing: same rule as a missing server
        _unreachable(f"psycopg is not installed ({exc})")
    try:
        admin = psycopg.connect(server_uri(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unreachable(str(exc).strip().splitlines()[0])
    name = f"bg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        db = PgDatabase(name)
        try:
            yield db
        finally:
            db.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def platform_db(pg_database):
    """A fresh database with the platform's tables (empty)."""
    pg_database.create_platform_schema()
    return pg_database
