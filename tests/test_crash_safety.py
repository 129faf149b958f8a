"""Crash safety: the real command line, killed with SIGKILL inside every writing step, then run again.

`python -m bountyguard run ...` and `python -m bountyguard payouts release ...` run in a subprocess
with BOUNTYGUARD_TEST_KILL_AT naming a checkpoint (bountyguard/faults.py, test-only) inside ingest,
validate, identity, detect, decide and publish, and inside the payout run's claim / send / record.
After each kill: the DuckDB file opens, every published folder a reader can see verifies (no
half-written run), a rerun gives the decisions of an uninterrupted run, and no payout is paid twice.
A DuckDB file or ledger that cannot be opened stops payouts with a clear error and is never recreated.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bountyguard import cli, ledger
from bountyguard.faults import KILL_AT_ENV
from bountyguard.payment_provider import payments_dir
from bountyguard.report import latest_published, load_verified_report, published_root
from detectors import REGISTRY
from tests.builders import Platform

AS_OF = "2026-06-30"
ROOT = Path(__file__).resolve().parent.parent
FIRST_DETECTOR, LAST_DETECTOR = list(REGISTRY)[0], list(REGISTRY)[-1]

# Two or more points in every step; each costs a killed subprocess and a rerun (about 10 s here), so CI
# runs these 13 and BG_CRASH_POINTS=all adds the other six (in the middle of the same transactions).
RUN_POINTS = [
    "ingest.started", "ingest.before_commit", "ingest.committed",
    "validate.checked", "validate.results_written",
    "identity.resolved", "identity.recorded",
    "detect.features_built", f"detect.flagged.{LAST_DETECTOR}",
    "decide.inputs_staged", "decide.decisions_written",
    "publish.files_written", "publish.latest_moved",
]
if os.environ.get("BG_CRASH_POINTS") == "all":
    RUN_POINTS += ["ingest.loaded.referrers", "ingest.loaded.payouts", f"detect.flagged.{FIRST_DETECTOR}",
                   "publish.batch_written", "publish.folder_renamed", "publish.recorded"]
PAYOUT_POINTS = ["payout.claimed", "payout.sent", "payout.recorded"]
IBANS = ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606"]


def platform() -> Platform:
    p = Platform()
    for i in range(1, 4):
        p.job(f"J{i}", f"C{i}")
    for n, iban in enumerate(IBANS, start=1):
        p.add("referrers", referrer_id=f"R{n}", payout_iban=iban)
        p.referred_hire(str(n), f"R{n}", f"K{n}", f"J{n}", started=f"2026-03-0{n + 1}")
    p.referred_hire("4", "R1", "K4", "J2", started="2026-01-05", ended="2026-02-01")  # early exit: void
    return p


def bountyguard(*args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KILL_AT_ENV}
    if kill_at:
        env[KILL_AT_ENV] = kill_at
    return subprocess.run([sys.executable, "-m", "bountyguard", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def decisions_of(run_dir: Path) -> list[tuple[str, str, str]]:
    with open(run_dir / "payout_decisions.csv", newline="") as f:
        return sorted((r["payout_id"], r["decision"], r["reasons"]) for r in csv.DictReader(f))


def assert_readers_see_only_complete_runs(db: Path) -> None:
    root = published_root(db)
    if not root.exists():
        return
    for folder in root.iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            load_verified_report(folder)  # raises if half-written
    if (root / "LATEST").exists():
        load_verified_report(latest_published(db))


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return platform().write_landing(tmp_path_factory.mktemp("crash") / "landing")


@pytest.fixture(scope="module")
def uninterrupted(landing, tmp_path_factory) -> list[tuple[str, str, str]]:
    db = tmp_path_factory.mktemp("baseline") / "bg.duckdb"
    done = bountyguard("run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    decisions = decisions_of(latest_published(db))
    assert {d for _, d, _ in decisions} == {"release", "void"}
    return decisions


@pytest.mark.parametrize("point", RUN_POINTS)
def test_screening_run_killed_inside_a_step_reruns_to_the_same_decisions(landing, uninterrupted, tmp_path, point):
    db = tmp_path / "bg.duckdb"
    killed = bountyguard("run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-2000:])

    con = duckdb.connect(str(db), read_only=True)  # the file opens after the kill
    con.execute("SELECT count(*) FROM runs").fetchone()
    con.close()
    assert_readers_see_only_complete_runs(db)

    assert cli.main(["run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF]) == 0
    assert decisions_of(latest_published(db)) == uninterrupted
    assert_readers_see_only_complete_runs(db)
    assert not [p for p in published_root(db).iterdir() if p.name.startswith(".")]  # no debris left


@pytest.fixture(scope="module")
def screened(landing, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screened")
    done = bountyguard("run", "--landing", str(landing), "--db", str(folder / "bg.duckdb"), "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    return folder


def paid_ids(db: Path) -> list[str]:
    path = payments_dir(db) / "instructions.jsonl"
    return sorted(json.loads(line)["payout_id"] for line in path.read_text().splitlines()) if path.exists() else []


@pytest.mark.parametrize("point", PAYOUT_POINTS)
def test_payout_run_killed_pays_each_payout_exactly_once(screened, tmp_path, point):
    work = tmp_path / "w"
    shutil.copytree(screened, work)
    db = work / "bg.duckdb"
    for _ in range(2):  # killed twice at the same point, then completed
        killed = bountyguard("payouts", "release", "--db", str(db), kill_at=point)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(paid_ids(db)) == len(set(paid_ids(db)))
    done = bountyguard("payouts", "release", "--db", str(db))
    assert done.returncode == 0, done.stderr
    again = bountyguard("payouts", "release", "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert paid_ids(db) == ["P1", "P2", "P3"]  # each once; P4 (void) never
    con = ledger.open_ledger_readonly(db)
    states = dict(con.execute("SELECT payout_id, state FROM releases").fetchall())
    con.close()
    assert states == {"P1": "sent", "P2": "sent", "P3": "sent"}


def _paid_once(screened, tmp_path) -> Path:
    work = tmp_path / "w"
    shutil.copytree(screened, work)
    db = work / "bg.duckdb"
    assert bountyguard("payouts", "release", "--db", str(db)).returncode == 0
    return db


@pytest.mark.parametrize("damage", ["garbage", "empty", "deleted"])
def test_a_ledger_that_cannot_be_opened_stops_payouts_and_is_not_recreated(screened, tmp_path, damage):
    db = _paid_once(screened, tmp_path)
    path = ledger.ledger_path(db)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"this is not a SQLite database at all" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    before = path.read_bytes() if path.exists() else None
    done = bountyguard("payouts", "release", "--db", str(db))
    assert done.returncode == 2, done.stdout
    assert "ledger" in done.stderr and "Traceback" not in done.stderr
    assert ("restore the ledger from a backup" in done.stderr) or ("cannot open the payout ledger" in done.stderr)
    assert (path.read_bytes() if path.exists() else None) == before  # not recreated, not touched
    assert paid_ids(db) == ["P1", "P2", "P3"]


def test_a_damaged_duckdb_file_stops_payouts_and_runs_and_is_not_recreated(screened, landing, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(screened, work)
    db = work / "bg.duckdb"
    damaged = b"\x00" * 4096 + db.read_bytes()[4096:8192]
    db.write_bytes(damaged)
    paying = bountyguard("payouts", "release", "--db", str(db))
    assert paying.returncode == 2 and "not a DuckDB database file" in paying.stderr and "NOTHING IS PAID" in paying.stderr
    screening = bountyguard("run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF)
    assert screening.returncode == 2, screening.stderr
    assert "cannot open the DuckDB file" in screening.stderr and "Traceback" not in screening.stderr
    assert db.read_bytes() == damaged
    assert paid_ids(db) == []
