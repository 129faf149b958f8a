"""Personal data stays where it is needed: after screening, exporting and paying generated data through
the real command line (verbose logs on), no raw or normalised e-mail, phone or IBAN of the landing
data appears in logs, tracebacks, report.json, flags evidence, exports or Data Docs; the files that
must hold IBANs (release batch, payment instructions) are readable by their owner only, and release
batches are deleted after their retention."""
from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bountyguard.normalize import email_key, iban_key
from bountyguard.report import published_root, purge_expired_release_batches

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-30"
# Files whose job is to hold personal data: the platform's own files, the working database, the
# ledger, the two places money is sent from, and the case review's snapshot (the case page shows an
# analyst the person's full records).
MAY_HOLD_PERSONAL_DATA = ("landing", "truth")
ALLOWED_SUFFIXES = (".duckdb", ".wal", ".sqlite", ".sqlite-wal", ".sqlite-shm")
ALLOWED_NAMES = ("release_batch.csv", "instructions.jsonl")
REVIEW_SNAPSHOT = "review"  # <published run>/review/*.parquet (bountyguard/review/snapshot.py)


def bountyguard(*args: str, expect=(0,)) -> str:
    done = subprocess.run([sys.executable, "-m", "bountyguard", "--verbose", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode in expect, (args, done.returncode, done.stderr[-3000:])
    return done.stdout + done.stderr


def personal_values(landing: Path) -> set[str]:
    values = set()
    for table in ("referrers", "candidates"):
        with open(landing / f"{table}.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for column in ("email", "phone", "payout_iban"):
                    raw = (row.get(column) or "").strip()
                    if len(raw) >= 8:
                        values.add(raw)
                        values.add(raw.replace(" ", ""))
                email = email_key(row.get("email") or "")
                if email:
                    values.add(email)
                iban = iban_key(row.get("payout_iban") or "")
                if iban:
                    values.add(iban)
    return values


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pii")
    bountyguard("generate", "--out", str(folder / "gen"), "--seed", "5", "--scale", "0.2", "--as-of", AS_OF)
    landing = folder / "gen" / "landing"
    db = folder / "bg.duckdb"
    logs = [bountyguard("run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF)]
    logs.append(bountyguard("export", "--db", str(db), "--out", str(folder / "export")))
    logs.append(bountyguard("payouts", "release", "--db", str(db)))
    logs.append(bountyguard("payouts", "holds", "--db", str(db)))
    logs.append(bountyguard("payouts", "clawbacks", "--db", str(db)))
    with open(published_root(db) / (published_root(db) / "LATEST").read_text().strip() / "release_batch.csv") as f:
        first = next(csv.DictReader(f))["payout_id"]
    logs.append(bountyguard("payouts", "show", first, "--db", str(db)))
    # a broken landing (a file whose columns are wrong, a row with a bad date): messages and rejects
    broken = folder / "broken"
    shutil.copytree(landing, broken)
    text = (broken / "referrers.csv").read_text(encoding="utf-8").splitlines()
    text[1] = text[1].replace(",19", ",not-a-date-19", 1)
    (broken / "referrers.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    (broken / "candidates.csv").write_text(
        (broken / "candidates.csv").read_text(encoding="utf-8").replace("email", "e_mail", 1), encoding="utf-8")
    logs.append(bountyguard("run", "--landing", str(broken), "--db", str(folder / "broken.duckdb"),
                            "--as-of", AS_OF, expect=(3,)))
    (folder / "cli.log").write_text("\n".join(logs), encoding="utf-8")
    return folder, db, personal_values(landing)


def test_known_personal_values_appear_nowhere_but_where_money_needs_them(world):
    folder, db, values = world
    assert len(values) > 500
    scanned = 0
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if (not path.is_file() or relative.parts[0] == "gen" or relative.parts[0] == "broken"
                or path.name.endswith(ALLOWED_SUFFIXES) or path.name in ALLOWED_NAMES
                or path.parent.name == REVIEW_SNAPSHOT):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = sorted(v for v in values if v in text)
        assert not found, f"{relative}: holds personal data, e.g. {found[0][:4]}..."
        scanned += 1
    names = {p.name for p in folder.rglob("*") if p.is_file()}
    assert {"cli.log", "report.json", "flags.csv", "payout_decisions.csv", "identities.csv", "ledger.csv"} <= names
    assert any(n.endswith(".html") for n in names)  # Data Docs were scanned
    assert scanned > 10


def test_files_holding_ibans_are_readable_by_their_owner_only(world):
    folder, db, values = world
    snapshots = list(published_root(db).glob(f"*/{REVIEW_SNAPSHOT}/records.parquet"))
    assert snapshots
    for path in snapshots:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    batches = list(published_root(db).glob("*/release_batch.csv"))
    instructions = db.parent / "bg.payments" / "instructions.jsonl"
    assert batches and instructions.exists()
    for path in [*batches, instructions]:
        text = path.read_text(encoding="utf-8")
        assert any(v in text for v in values)  # they do hold IBANs ...
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path  # ... for their owner only


def test_release_batches_are_deleted_after_their_retention(world):
    folder, db, _ = world
    import datetime as dt

    root = published_root(db)
    latest = (root / "LATEST").read_text().strip()
    old = root / "20260101-001"
    shutil.copytree(root / latest, old)
    report = json.loads((old / "report.json").read_text())
    report["as_of"] = "2026-01-01"
    (old / "report.json").write_text(json.dumps(report))
    assert purge_expired_release_batches(db, dt.date(2026, 1, 30), 35) == []
    assert purge_expired_release_batches(db, dt.date(2026, 6, 30), 35) == ["20260101-001"]
    assert not (old / "release_batch.csv").exists()
    assert (root / latest / "release_batch.csv").exists()  # the newest is kept, whatever its age
    shutil.rmtree(old)
