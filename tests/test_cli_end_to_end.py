"""The command line end to end on generated data, with decisions checked against the generator's
labels and the export checked against the contract."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bountyguard.cli import main
from bountyguard.evaluation.scores import evaluate
from bountyguard.evaluation.generator import generate

AS_OF = "2026-06-30"
CHECKER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_export.py"


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    generate(root, seed=11, scale=0.2)
    db = root / "bg.duckdb"
    code = main(["run", "--landing", str(root / "landing"), "--db", str(db), "--as-of", AS_OF])
    export = root / "export"
    export_code = main(["export", "--db", str(db), "--out", str(export)])
    return {"root": root, "db": db, "code": code, "export": export, "export_code": export_code}


def test_run_is_clean_and_export_follows_the_contract(screened):
    assert screened["code"] == 0
    assert screened["export_code"] == 0
    for name in ("report.json", "flags.csv", "payout_decisions.csv", "identities.csv", "ledger.csv"):
        assert (screened["export"] / name).exists(), name
    if not CHECKER.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHECKER}: the contract checker is missing")
        pytest.skip(f"{CHECKER} not found beside the repository")
    done = subprocess.run(
        [sys.executable, str(CHECKER), "--landing", str(screened["root"] / "landing"),
         "--export", str(screened["export"]), "--as-of", AS_OF],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("CONTRACT: ok")


def test_labelled_early_exits_are_voided_and_exact_serial_rereferrals_held(screened):
    truth = screened["root"] / "truth"
    decided = {r["payout_id"]: r for r in read(screened["export"] / "payout_decisions.csv")}
    expected = {r["payout_id"]: r for r in read(truth / "payouts.csv")}

    early_voids = [p for p, r in expected.items() if r["expected_decision"] == "void" and "early_exit" in r["reasons"]]
    assert early_voids, "the generator always injects early exits"
    for pid in early_voids:
        assert decided[pid]["decision"] == "void", pid
        assert "early_exit" in decided[pid]["reasons"].split(";")

    exact_serial = [r for r in read(truth / "patterns.csv") if r["pattern"] == "serial_rereferral" and r["disguised"] == "false"]
    assert exact_serial
    serial_payouts = {pid for r in exact_serial for pid in r["payout_ids"].split(";") if pid}
    held = [pid for pid in serial_payouts if expected[pid]["expected_decision"] == "hold"]
    assert held
    for pid in held:
        assert decided[pid]["decision"] == "hold", pid
        assert "serial_rereferral" in decided[pid]["reasons"].split(";")
    # no payout of an abuse scheme is released
    blocked = {p for p, r in expected.items() if r["blocked"] == "true"}
    released = {p for p, r in decided.items() if r["decision"] == "release"}
    assert len(blocked & released) <= max(1, len(blocked) // 50)


def test_scores_against_the_labels(screened):
    run_dir = Path(json.loads((screened["export"] / "report.json").read_text())["run_id"])
    published = screened["db"].parent / "bg.published" / run_dir.name
    scores = evaluate(published, screened["root"] / "truth", screened["root"] / "landing")
    assert scores["payouts"]["f1"] >= 0.95
    for pattern, s in scores["patterns"].items():
        if s["truth"]:
            assert s["precision"] >= 0.9, (pattern, s)
            assert s["recall"] >= 0.75, (pattern, s)
    assert scores["identity"]["f1"] >= 0.95


def test_same_landing_again_gives_the_same_decisions_and_digest(screened, tmp_path):
    first = json.loads((screened["export"] / "report.json").read_text())
    db = tmp_path / "again.duckdb"
    assert main(["run", "--landing", str(screened["root"] / "landing"), "--db", str(db), "--as-of", AS_OF]) == 0
    main(["export", "--db", str(db), "--out", str(tmp_path / "export")])
    second = json.loads((tmp_path / "export" / "report.json").read_text())
    assert second["report_sha256"] == first["report_sha256"]
    strip = lambda rows: [(r["payout_id"], r["decision"], r["reasons"]) for r in rows]  # noqa: E731
    assert strip(read(tmp_path / "export" / "payout_decisions.csv")) == strip(read(screened["export"] / "payout_decisions.csv"))
