-- Current state of the platform's tables, as loaded so far: one row per primary key, the latest
-- version (by updated_at) winning. Columns and types follow ../shared/CONTRACT.md exactly;
-- tests/test_schema.py checks them against bountyguard/contract.py.
-- _loaded_run_id / _source_file / _source_line say where each row's current version came from.

CREATE TABLE IF NOT EXISTS referrers (
    referrer_id VARCHAR PRIMARY KEY,
    full_name VARCHAR NOT NULL,
    email VARCHAR,
    phone VARCHAR,
    payout_iban VARCHAR,
    birth_date DATE,
    city VARCHAR,
    signed_up_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS candidates (
    candidate_id VARCHAR PRIMARY KEY,
    full_name VARCHAR NOT NULL,
    email VARCHAR,
    phone VARCHAR,
    birth_date DATE,
    city VARCHAR,
    profile_url VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS companies (
    company_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS jobs (
    job_id VARCHAR PRIMARY KEY,
    company_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    bounty_amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR NOT NULL,
    guarantee_days INTEGER NOT NULL,
    posted_at TIMESTAMP NOT NULL,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS referrals (
    referral_id VARCHAR PRIMARY KEY,
    referrer_id VARCHAR NOT NULL,
    candidate_id VARCHAR NOT NULL,
    job_id VARCHAR NOT NULL,
    referred_at TIMESTAMP NOT NULL,
    channel VARCHAR NOT NULL,
    ip_address VARCHAR,
    device_id VARCHAR,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS applications (
    application_id VARCHAR PRIMARY KEY,
    candidate_id VARCHAR NOT NULL,
    job_id VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS hires (
    hire_id VARCHAR PRIMARY KEY,
    referral_id VARCHAR,
    candidate_id VARCHAR NOT NULL,
    job_id VARCHAR NOT NULL,
    hired_at TIMESTAMP NOT NULL,
    started_at DATE NOT NULL,
    ended_at DATE,
    end_reason VARCHAR,
    updated_at TIMESTAMP,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);

CREATE TABLE IF NOT EXISTS payouts (
    payout_id VARCHAR PRIMARY KEY,
    hire_id VARCHAR NOT NULL,
    referral_id VARCHAR NOT NULL,
    referrer_id VARCHAR NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR NOT NULL,
    eligible_at DATE NOT NULL,
    status VARCHAR NOT NULL,
    released_at TIMESTAMP,
    updated_at TIMESTAMP,
    _loaded_run_id VARCHAR, _source_file VARCHAR, _source_line BIGINT
);
