"""The fixed outside interface of ../shared/CONTRACT.md, as data.

Everything that reads, checks or writes contract tables takes the column list, types, keys and enums
from here, so the contract is written down once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PATTERNS = (
    "serial_rereferral",
    "job_hopping",
    "early_exit",
    "self_referral",
    "shared_payout_account",
    "referral_ring",
    "duplicate_referral",
    "late_referral",
    "velocity_spike",
    "anomaly",
)
ENTITY_TYPES = ("referrer", "candidate", "referral", "hire", "payout")
SEVERITIES = ("low", "medium", "high")
DECISIONS = ("release", "hold", "void", "clawback")
REPORT_STATUSES = ("clean", "not_clean", "failed")
PAYOUT_STATUSES = ("pending", "released", "held", "void", "clawed_back")
CHANNELS = ("facebook", "xing", "linkedin", "email", "link", "other")
APPLICATION_SOURCES = ("direct", "referral", "agency")
END_REASONS = ("resigned", "dismissed", "probation_failed", "contract_end", "other")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the typed staging column
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" for a foreign key
    personal: bool = False  # personal data: never echoed into logs or reject messages


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]
    optional: bool = False  # may be absent from a landing folder (then: no rows)
    # the column that orders versions of one key (a later value wins); None: the last load wins
    version_column: str | None = None
    # the column that says when a row came to exist, for as-of reads and watermarks
    event_column: str | None = None
    foreign_keys: tuple[tuple[str, str], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, type_, nullable=False, enum=None, references=None, personal=False):
    return Column(name, type_, nullable, enum, references, personal)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "referrers",
            "referrer_id",
            (
                _c("referrer_id", "VARCHAR"),
                _c("full_name", "VARCHAR", personal=True),
                _c("email", "VARCHAR", nullable=True, personal=True),
                _c("phone", "VARCHAR", nullable=True, personal=True),
                _c("payout_iban", "VARCHAR", nullable=True, personal=True),
                _c("birth_date", "DATE", nullable=True, personal=True),
                _c("city", "VARCHAR", nullable=True),
                _c("signed_up_at", "TIMESTAMP"),
                _c("updated_at", "TIMESTAMP", nullable=True),
            ),
            version_column="updated_at",
            event_column="signed_up_at",
        ),
        Table(
            "candidates",
            "candidate_id",
            (
                _c("candidate_id", "VARCHAR"),
                _c("full_name", "VARCHAR", personal=True),
                _c("email", "VARCHAR", nullable=True, personal=True),
                _c("phone", "VARCHAR", nullable=True, personal=True),
                _c("birth_date", "DATE", nullable=True, personal=True),
                _c("city", "VARCHAR", nullable=True),
                _c("profile_url", "VARCHAR", nullable=True, personal=True),
                _c("created_at", "TIMESTAMP"),
                _c("updated_at", "TIMESTAMP", nullable=True),
            ),
            version_column="updated_at",
            event_column="created_at",
        ),
        Table(
            "companies",
            "company_id",
            (
                _c("company_id", "VARCHAR"),
                _c("name", "VARCHAR"),
                _c("country", "VARCHAR"),
            ),
        ),
        Table(
            "jobs",
            "job_id",
            (
                _c("job_id", "VARCHAR"),
                _c("company_id", "VARCHAR", references="companies.company_id"),
                _c("title", "VARCHAR"),
                _c("bounty_amount", "DECIMAL(12,2)"),
                _c("currency", "VARCHAR"),
                _c("guarantee_days", "INTEGER"),
                _c("posted_at", "TIMESTAMP"),
            ),
            event_column="posted_at",
        ),
        Table(
            "referrals",
            "referral_id",
            (
                _c("referral_id", "VARCHAR"),
                _c("referrer_id", "VARCHAR", references="referrers.referrer_id"),
                _c("candidate_id", "VARCHAR", references="candidates.candidate_id"),
                _c("job_id", "VARCHAR", references="jobs.job_id"),
                _c("referred_at", "TIMESTAMP"),
                _c("channel", "VARCHAR", enum=CHANNELS),
                _c("ip_address", "VARCHAR", nullable=True, personal=True),
                _c("device_id", "VARCHAR", nullable=True, personal=True),
            ),
            event_column="referred_at",
        ),
        Table(
            "applications",
            "application_id",
            (
                _c("application_id", "VARCHAR"),
                _c("candidate_id", "VARCHAR", references="candidates.candidate_id"),
                _c("job_id", "VARCHAR", references="jobs.job_id"),
                _c("applied_at", "TIMESTAMP"),
                _c("source", "VARCHAR", enum=APPLICATION_SOURCES),
            ),
            optional=True,
            event_column="applied_at",
        ),
        Table(
            "hires",
            "hire_id",
            (
                _c("hire_id", "VARCHAR"),
                _c("referral_id", "VARCHAR", nullable=True, references="referrals.referral_id"),
                _c("candidate_id", "VARCHAR", references="candidates.candidate_id"),
                _c("job_id", "VARCHAR", references="jobs.job_id"),
                _c("hired_at", "TIMESTAMP"),
                _c("started_at", "DATE"),
                _c("ended_at", "DATE", nullable=True),
                _c("end_reason", "VARCHAR", nullable=True, enum=END_REASONS),
                _c("updated_at", "TIMESTAMP", nullable=True),
            ),
            version_column="updated_at",
            event_column="hired_at",
        ),
        Table(
            "payouts",
            "payout_id",
            (
                _c("payout_id", "VARCHAR"),
                _c("hire_id", "VARCHAR", references="hires.hire_id"),
                _c("referral_id", "VARCHAR", references="referrals.referral_id"),
                _c("referrer_id", "VARCHAR", references="referrers.referrer_id"),
                _c("amount", "DECIMAL(12,2)"),
                _c("currency", "VARCHAR"),
                _c("eligible_at", "DATE"),
                _c("status", "VARCHAR", enum=PAYOUT_STATUSES),
                _c("released_at", "TIMESTAMP", nullable=True),
                _c("updated_at", "TIMESTAMP", nullable=True),
            ),
            version_column="updated_at",
        ),
    )
}

# Load order: a table comes after the tables its foreign keys point to.
LOAD_ORDER = ("referrers", "candidates", "companies", "jobs", "referrals", "applications", "hires", "payouts")
