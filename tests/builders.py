"""Hand-made fixtures: small landing folders and in-memory DuckDB states built from a few rows.

Every row gets valid defaults for the columns a test does not care about, so a test names only
what matters to its case.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

from bountyguard.contract import TABLES
from bountyguard import models
from bountyguard.config import defaults
from bountyguard.db import run_sql_file

DEFAULTS = {
    "referrers": {"full_name": "Referrer", "email": None, "phone": None, "payout_iban": None,
                  "birth_date": None, "city": "Berlin", "signed_up_at": "2023-01-01T00:00:00Z", "updated_at": None},
    "candidates": {"full_name": "Candidate", "email": None, "phone": None, "birth_date": None, "city": "Berlin",
                   "profile_url": None, "created_at": "2023-01-01T00:00:00Z", "updated_at": None},
    "companies": {"name": "Company", "country": "DE"},
    "jobs": {"title": "Engineer", "bounty_amount": "1000.00", "currency": "EUR", "guarantee_days": "90",
             "posted_at": "2023-01-01T00:00:00Z"},
    "referrals": {"channel": "email", "ip_address": None, "device_id": None},
    "applications": {"source": "direct"},
    "hires": {"referral_id": None, "ended_at": None, "end_reason": None, "updated_at": None},
    "payouts": {"currency": "EUR", "status": "pending", "released_at": None, "updated_at": None},
}


class Platform:
    """A small platform state: add rows, then write a landing folder or load DuckDB directly."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}

    def add(self, table: str, **values) -> dict:
        row = {**DEFAULTS[table], **values}
        self.rows[table].append(row)
        return row

    # convenience builders in the business's words
    def company(self, company_id, **kw):
        return self.add("companies", company_id=company_id, **kw)

    def job(self, job_id, company_id, guarantee_days=90, bounty="1000.00", **kw):
        if not any(c["company_id"] == company_id for c in self.rows["companies"]):
            self.company(company_id)
        return self.add("jobs", job_id=job_id, company_id=company_id, guarantee_days=str(guarantee_days),
                        bounty_amount=bounty, **kw)

    def referred_hire(self, n: str, referrer_id: str, candidate_id: str, job_id: str, started: str,
                      ended: str | None = None, payout_status: str = "pending", referred: str | None = None,
                      hired: str | None = None, end_reason: str | None = None):
        """A referral, its hire and its payout (eligible_at = start + the job's guarantee)."""
        for table, key in (("referrers", referrer_id), ("candidates", candidate_id)):
            id_col = TABLES[table].key
            if not any(r[id_col] == key for r in self.rows[table]):
                self.add(table, **{id_col: key})
        start = dt.date.fromisoformat(started)
        hired = hired or f"{start - dt.timedelta(days=14)}T10:00:00Z"
        referred = referred or f"{start - dt.timedelta(days=30)}T10:00:00Z"
        self.add("referrals", referral_id=f"RF{n}", referrer_id=referrer_id, candidate_id=candidate_id,
                 job_id=job_id, referred_at=referred)
        self.add("hires", hire_id=f"H{n}", referral_id=f"RF{n}", candidate_id=candidate_id, job_id=job_id,
                 hired_at=hired, started_at=started, ended_at=ended,
                 end_reason=end_reason or ("resigned" if ended else None))
        job = next(j for j in self.rows["jobs"] if j["job_id"] == job_id)
        eligible = start + dt.timedelta(days=int(job["guarantee_days"]))
        released_at = f"{eligible + dt.timedelta(days=3)}T12:00:00Z" if payout_status == "released" else None
        self.add("payouts", payout_id=f"P{n}", hire_id=f"H{n}", referral_id=f"RF{n}", referrer_id=referrer_id,
                 amount=job["bounty_amount"], eligible_at=str(eligible), status=payout_status,
                 released_at=released_at)

    def write_landing(self, folder: Path, skip: tuple[str, ...] = ()) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in TABLES.items():
            if name in skip:
                continue
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(table.column_names)
                for row in self.rows[name]:
                    writer.writerow(["" if row.get(c) is None else row[c] for c in table.column_names])
        return folder

    def load(self, con: duckdb.DuckDBPyConnection, as_of: str, persons: dict[str, str] | None = None,
             name_keys: dict[str, str] | None = None, city_keys: dict[str, str] | None = None,
             config: dict | None = None):
        """Put the rows straight into the current-state tables, set the run's as-of date and build
        person_records (records of one person share a key in `persons`; others are their own) and
        stints, as the detect step would."""
        con.execute("SET TimeZone = 'UTC'")
        run_sql_file(con, "schema/tables.sql")
        run_sql_file(con, "schema/runs.sql")
        for name, table in TABLES.items():
            for row in self.rows[name]:
                cols = table.column_names
                con.execute(
                    f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    [row.get(c) for c in cols],
                )
        models.enter_run(con, "test", as_of)
        persons = persons or {}
        con.execute(
            "CREATE OR REPLACE TABLE person_records (record_type VARCHAR, record_id VARCHAR, person_id VARCHAR, "
            "name_key VARCHAR, email_key VARCHAR, phone_key VARCHAR, iban_key VARCHAR, iban_masked VARCHAR, "
            "birth_date DATE, "
            "city_key VARCHAR, profile_key VARCHAR)"
        )
        con.execute(
            "CREATE OR REPLACE TABLE person_links (record_type_l VARCHAR, record_id_l VARCHAR, record_type_r VARCHAR, "
            "record_id_r VARCHAR, rule VARCHAR, match_probability DOUBLE, evidence VARCHAR)"
        )
        for table, rtype in (("referrers", "referrer"), ("candidates", "candidate")):
            for row in self.rows[table]:
                rid = row[TABLES[table].key]
                iban = row["payout_iban"].replace(" ", "").upper() if row.get("payout_iban") else None
                con.execute(
                    "INSERT INTO person_records (record_type, record_id, person_id, iban_key, iban_masked, name_key, "
                    "city_key, birth_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [rtype, rid, persons.get(rid, f"{rtype}:{rid}"),
                     iban, f"{iban[:2]}…{iban[-4:]}" if iban else None, (name_keys or {}).get(rid),
                     (city_keys or {}).get(rid), row.get("birth_date")],
                )
        models.build(con, ["stints", "referral_facts", "chained_stints"], config=config or defaults())
        return con


def run_detector(detector, con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """What the pipeline does for one detector: build the models it reads, then run it."""
    models.build(con, detector.required_models(), params=detector.get_params(), upstream=False)
    return detector.detect(con)
