"""The textbook baseline (bountyguard.evaluation.baseline) on a small hand-made platform: every rule fires on a
case that must flag and stays quiet on its look-alike, identities cover every record, decisions follow
the payout policy, and the output is scored by `evaluate` and passes the contract's checker."""
from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bountyguard.evaluation.baseline import baseline_run
from bountyguard.evaluation.scores import evaluate, format_scores
from tests.builders import Platform

AS_OF = dt.date(2026, 6, 30)
CHECKER = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "check_export.py"


def _direct_hire(p: Platform, hire_id: str, candidate_id: str, job_id: str, started: str, ended: str | None):
    start = dt.date.fromisoformat(started)
    p.add("hires", hire_id=hire_id, candidate_id=candidate_id, job_id=job_id,
          hired_at=f"{start - dt.timedelta(days=14)}T10:00:00Z", started_at=started, ended_at=ended,
          end_reason="resigned" if ended else None)


def _referrals(p: Platform, referrer_id: str, tag: str, days: list[str]):
    """One referral per day given, each of a new candidate (no personal keys: one person each)."""
    for n, day in enumerate(days):
        p.add("candidates", candidate_id=f"C_{tag}{n}")
        p.add("referrals", referral_id=f"RF_{tag}{n}", referrer_id=referrer_id, candidate_id=f"C_{tag}{n}",
              job_id="J1", referred_at=f"{day}T10:00:00Z")


def world() -> Platform:
    p = Platform()
    for job, company in (("J1", "CO1"), ("J2", "CO2"), ("J3", "CO3"), ("J3b", "CO3"), ("J4", "CO4")):
        p.job(job, company, guarantee_days=90)
    for n in (1, 2, 3):
        p.job(f"JS{n}", f"COS{n}", guarantee_days=60)

    # early_exit: ended before start + 90 days; look-alikes: ended after it, ends only after as_of,
    # a direct hire (no referral)
    p.referred_hire("EE", "R_EE", "C_EE", "J1", started="2026-01-05", ended="2026-02-01")
    p.referred_hire("EEr", "R_EEr", "C_EEr", "J1", started="2025-06-01", ended="2025-07-01", payout_status="released")
    p.referred_hire("EEok", "R_EEok", "C_EEok", "J1", started="2025-12-01", ended="2026-03-15")
    p.referred_hire("EEfut", "R_EEf", "C_EEf", "J1", started="2026-05-01", ended="2026-07-10")
    p.add("candidates", candidate_id="C_DIRECT")
    _direct_hire(p, "H_DIRECT", "C_DIRECT", "J1", "2026-01-05", "2026-01-20")

    # late_referral: 22 hours before the hire; look-alike 73 hours before
    p.referred_hire("LATE", "R_LATE", "C_LATE", "J2", started="2026-02-01",
                    hired="2026-01-18T10:00:00Z", referred="2026-01-17T12:00:00Z")
    p.referred_hire("NOTLATE", "R_NL", "C_NL", "J2", started="2026-02-01",
                    hired="2026-01-18T10:00:00Z", referred="2026-01-15T09:00:00Z")

    # duplicate_referral at company CO3 (jobs J3 and J3b)
    p.add("referrers", referrer_id="R_D1")
    p.add("candidates", candidate_id="C_D")
    p.add("referrals", referral_id="RF_D0", referrer_id="R_D1", candidate_id="C_D", job_id="J3b",
          referred_at="2025-12-01T10:00:00Z")
    p.referred_hire("D", "R_D2", "C_D", "J3", started="2026-02-01")  # another referrer came first
    p.add("referrers", referrer_id="R_SAME")
    p.add("candidates", candidate_id="C_S")
    p.add("referrals", referral_id="RF_S0", referrer_id="R_SAME", candidate_id="C_S", job_id="J3b",
          referred_at="2025-12-01T10:00:00Z")
    p.referred_hire("S", "R_SAME", "C_S", "J3", started="2026-02-01")  # look-alike: the same referrer
    p.add("referrers", referrer_id="R_O1")
    p.add("candidates", candidate_id="C_O")
    p.add("referrals", referral_id="RF_O0", referrer_id="R_O1", candidate_id="C_O", job_id="J1",
          referred_at="2025-12-01T10:00:00Z")
    p.referred_hire("O", "R_O2", "C_O", "J3", started="2026-02-01")  # look-alike: another company
    p.add("candidates", candidate_id="C_APP")
    p.add("applications", application_id="A_APP", candidate_id="C_APP", job_id="J3b",
          applied_at="2025-11-01T10:00:00Z", source="direct")
    p.referred_hire("APP", "R_APP", "C_APP", "J3", started="2026-02-01")  # applied there himself
    p.add("candidates", candidate_id="C_APR")
    p.add("applications", application_id="A_APR", candidate_id="C_APR", job_id="J3b",
          applied_at="2025-11-01T10:00:00Z", source="referral")
    p.referred_hire("APR", "R_APR", "C_APR", "J3", started="2026-02-01")  # look-alike: not an own application
    p.add("candidates", candidate_id="C_BACK")
    _direct_hire(p, "H_OLD", "C_BACK", "J3b", "2024-02-01", "2024-12-31")
    p.referred_hire("BACK", "R_BACK", "C_BACK", "J3", started="2026-02-01")  # worked there before

    # self_referral by e-mail (gmail dots, +tag, googlemail), by phone, by name + birth date
    p.add("referrers", referrer_id="R_SELF", email="Jane.Doe+ref@GoogleMail.com")
    p.add("candidates", candidate_id="C_SELF", email=" janedoe@gmail.com ")
    p.referred_hire("SELF", "R_SELF", "C_SELF", "J4", started="2026-01-05")
    p.add("referrers", referrer_id="R_NS", email="jane.doe@example.com")  # look-alike: dots count here
    p.add("candidates", candidate_id="C_NS", email="janedoe@example.com")
    p.referred_hire("NS", "R_NS", "C_NS", "J4", started="2026-01-05")
    p.add("referrers", referrer_id="R_PH", phone="+49 (0)30 1234-5678")
    p.add("candidates", candidate_id="C_PH", phone="030/12345678")
    p.add("candidates", candidate_id="C_PH2", phone="030 1234567")  # look-alike: another number
    p.add("referrals", referral_id="RF_PH", referrer_id="R_PH", candidate_id="C_PH", job_id="J4",
          referred_at="2026-03-01T10:00:00Z")
    p.add("referrals", referral_id="RF_PH2", referrer_id="R_PH", candidate_id="C_PH2", job_id="J4",
          referred_at="2026-03-01T10:00:00Z")
    p.add("referrers", referrer_id="R_N", full_name="Müller, Jürgen", birth_date="1980-05-01")
    p.add("candidates", candidate_id="C_N", full_name="jurgen  MULLER", birth_date="1980-05-01")
    p.referred_hire("NAME", "R_N", "C_N", "J4", started="2026-01-05")
    p.add("referrers", referrer_id="R_N2", full_name="Jürgen Müller", birth_date="1975-05-01")
    p.add("candidates", candidate_id="C_N2", full_name="Jurgen Muller", birth_date="1981-05-01")
    p.referred_hire("NAME2", "R_N2", "C_N2", "J4", started="2026-01-05")  # look-alike: namesakes

    # shared_payout_account: one IBAN typed two ways; look-alike one digit apart
    p.add("referrers", referrer_id="R_SA1", payout_iban="DE89 3704 0044 0532 0130 00")
    p.add("referrers", referrer_id="R_SA2", payout_iban="de89-3704.0044-0532-0130-00")
    p.add("referrers", referrer_id="R_SA3", payout_iban="DE89 3704 0044 0532 0130 01")
    p.referred_hire("SA", "R_SA1", "C_SA", "J4", started="2026-01-05")
    p.referred_hire("SA3", "R_SA3", "C_SA3", "J4", started="2026-01-05")

    # referral_ring: person A (R_RA, C_RA) refers B, person B (R_RB, C_RB) refers A; look-alike: C refers D only
    for x in ("RA", "RB", "RC", "RD"):
        p.add("referrers", referrer_id=f"R_{x}", email=f"{x.lower()}@ring.example")
        p.add("candidates", candidate_id=f"C_{x}", email=f"{x}@Ring.Example")
    for rid, ref, cand in (("RF_AB", "R_RA", "C_RB"), ("RF_BA", "R_RB", "C_RA"), ("RF_CD", "R_RC", "C_RD")):
        p.add("referrals", referral_id=rid, referrer_id=ref, candidate_id=cand, job_id="J1",
              referred_at="2026-01-02T10:00:00Z")

    # job_hopping: three short ended tenures (direct hires); look-alikes: one of 243 days, one still
    # running on as_of; a person with two records counts as one
    short = [("2024-01-01", "2024-03-01"), ("2024-04-01", "2024-06-01"), ("2024-07-01", "2024-09-01")]
    for cand, stints in (("C_JH", short), ("C_JH2", short[:2] + [("2024-07-01", "2025-03-01")]),
                         ("C_JH4", short[:2] + [("2026-05-01", "2026-07-15")])):
        p.add("candidates", candidate_id=cand)
        for n, (start, end) in enumerate(stints):
            _direct_hire(p, f"H_{cand}_{n}", cand, "J2", start, end)
    p.add("candidates", candidate_id="C_JH3a", email="hop@example.org")
    p.add("candidates", candidate_id="C_JH3b", email="HOP@example.org")
    for n, (start, end) in enumerate(short):
        _direct_hire(p, f"H_JH3_{n}", "C_JH3a" if n < 2 else "C_JH3b", "J2", start, end)

    # serial_rereferral: three referred stints each ending 10 days after a 60-day guarantee;
    # look-alike: the third stint runs on long after its guarantee
    serial = [("2025-01-01", "2025-03-12"), ("2025-04-01", "2025-06-10"), ("2025-07-01", "2025-09-09")]
    for n, (start, end) in enumerate(serial, start=1):
        p.referred_hire(f"SR{n}", "R_SR", "C_SR", f"JS{n}", started=start, ended=end,
                        payout_status="released" if n < 3 else "pending")
    near = serial[:2] + [("2025-07-01", "2026-01-01")]
    for n, (start, end) in enumerate(near, start=1):
        p.referred_hire(f"SRX{n}", "R_SRX", "C_SRX", f"JS{n}", started=start, ended=end, payout_status="released")

    # velocity_spike: 12 referrals in June and no history; look-alikes: 12 in June after a year of
    # 12 a month, 9 in June, 9 in June plus 5 after as_of
    june = [f"2026-06-{d:02d}" for d in range(5, 29, 2)]
    p.referred_hire("V", "R_V", "C_VH", "J4", started="2026-01-05")
    _referrals(p, "R_V", "V", june)
    p.add("referrers", referrer_id="R_V2")
    months = [f"{(dt.date(2025, 6, 1) + dt.timedelta(days=31 * m)).isoformat()[:8]}{d:02d}"
              for m in range(12) for d in range(1, 25, 2)]
    _referrals(p, "R_V2", "W", june + months)
    p.add("referrers", referrer_id="R_V3")
    _referrals(p, "R_V3", "X", june[:9])
    p.add("referrers", referrer_id="R_V4")
    _referrals(p, "R_V4", "Y", june[:9] + ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04", "2026-07-05"])
    return p


# one true person per record, except these
SAME_PERSON = [("referrer:R_SELF", "candidate:C_SELF"), ("referrer:R_PH", "candidate:C_PH"),
               ("referrer:R_N", "candidate:C_N"), ("candidate:C_JH3a", "candidate:C_JH3b")] + [
    (f"referrer:R_{x}", f"candidate:C_{x}") for x in ("RA", "RB", "RC", "RD")]

EXPECTED_DECISIONS = {
    "PEE": ("void", "early_exit"), "PEEr": ("clawback", "early_exit"), "PEEok": ("release", ""),
    "PLATE": ("void", "late_referral"), "PNOTLATE": ("release", ""),
    "PD": ("void", "duplicate_referral"), "PS": ("release", ""), "PO": ("release", ""),
    "PAPP": ("void", "duplicate_referral"), "PAPR": ("release", ""), "PBACK": ("void", "duplicate_referral"),
    "PSELF": ("hold", "self_referral"), "PNS": ("release", ""), "PNAME": ("hold", "self_referral"),
    "PNAME2": ("release", ""), "PSA": ("hold", "shared_payout_account"), "PSA3": ("release", ""),
    "PSR1": ("clawback", "serial_rereferral"), "PSR2": ("clawback", "serial_rereferral"),
    "PSR3": ("hold", "serial_rereferral;job_hopping"), "PV": ("hold", "velocity_spike"),
}  # PEEfut is not due yet; PSRX1..3 are released and clean: no row


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("baseline")
    landing = world().write_landing(base / "landing")
    out = baseline_run(landing, AS_OF, base / "out")
    return base, landing, out


def _flagged(out: Path, pattern: str) -> set[tuple[str, str]]:
    return {(f["entity_type"], f["entity_id"]) for f in _rows(out / "flags.csv") if f["pattern"] == pattern}


@pytest.mark.parametrize("pattern, must, must_not", [
    ("early_exit", {("hire", "HEE"), ("hire", "HEEr")}, {("hire", "HEEok"), ("hire", "HEEfut"), ("hire", "H_DIRECT")}),
    ("late_referral", {("referral", "RFLATE")}, {("referral", "RFNOTLATE")}),
    ("duplicate_referral", {("referral", "RFD"), ("referral", "RFAPP"), ("referral", "RFBACK")},
     {("referral", "RFS"), ("referral", "RFO"), ("referral", "RFAPR")}),
    ("self_referral", {("referral", "RFSELF"), ("referral", "RF_PH"), ("referral", "RFNAME")},
     {("referral", "RFNS"), ("referral", "RF_PH2"), ("referral", "RFNAME2")}),
    ("shared_payout_account", {("referrer", "R_SA1"), ("referrer", "R_SA2")}, {("referrer", "R_SA3")}),
    ("referral_ring", {("referrer", "R_RA"), ("referrer", "R_RB")}, {("referrer", "R_RC"), ("referrer", "R_RD")}),
    ("job_hopping", {("candidate", "C_JH"), ("candidate", "C_JH3a"), ("candidate", "C_JH3b"), ("candidate", "C_SR")},
     {("candidate", "C_JH2"), ("candidate", "C_JH4"), ("candidate", "C_SRX")}),
    ("serial_rereferral", {("candidate", "C_SR"), ("referrer", "R_SR")}, {("candidate", "C_SRX"), ("referrer", "R_SRX")}),
    ("velocity_spike", {("referrer", "R_V")}, {("referrer", "R_V2"), ("referrer", "R_V3"), ("referrer", "R_V4")}),
])
def test_each_rule_fires_on_its_case_and_not_on_the_look_alike(run, pattern, must, must_not):
    flagged = _flagged(run[2], pattern)
    assert must <= flagged
    assert not (must_not & flagged)


def test_flags_follow_the_contract_form(run):
    flags = _rows(run[2] / "flags.csv")
    assert list(flags[0]) == ["flag_id", "run_id", "pattern", "entity_type", "entity_id", "score", "severity", "evidence"]
    assert not any(f["pattern"] == "anomaly" for f in flags)
    assert len({f["flag_id"] for f in flags}) == len(flags)
    for f in flags:
        assert f["run_id"] == "baseline" and 0 <= float(f["score"]) <= 1 and f["severity"] in ("low", "medium", "high")
        assert isinstance(json.loads(f["evidence"]), dict)
    assert "Jane" not in (run[2] / "flags.csv").read_text(encoding="utf-8")  # no personal data in evidence


def test_identities_cover_every_record_once_and_merge_only_on_exact_keys(run):
    _, landing, out = run
    rows = _rows(out / "identities.csv")
    keys = [(r["record_type"], r["record_id"]) for r in rows]
    assert len(keys) == len(set(keys))
    expected = {("referrer", r["referrer_id"]) for r in _rows(landing / "referrers.csv")}
    expected |= {("candidate", r["candidate_id"]) for r in _rows(landing / "candidates.csv")}
    assert set(keys) == expected
    person = {f"{r['record_type']}:{r['record_id']}": r["person_id"] for r in rows}
    for a, b in SAME_PERSON:
        assert person[a] == person[b], (a, b)
    for a, b in (("referrer:R_NS", "candidate:C_NS"), ("candidate:C_PH", "candidate:C_PH2"),
                 ("referrer:R_N2", "candidate:C_N2"), ("referrer:R_SA1", "referrer:R_SA2"),
                 ("referrer:R_RA", "referrer:R_RB")):
        assert person[a] != person[b], (a, b)


def test_decisions_follow_the_payout_policy(run):
    decided = {d["payout_id"]: (d["decision"], d["reasons"]) for d in _rows(run[2] / "payout_decisions.csv")}
    assert decided == EXPECTED_DECISIONS
    report = json.loads((run[2] / "report.json").read_text(encoding="utf-8"))
    assert (report["run_id"], report["as_of"], report["status"]) == ("baseline", "2026-06-30", "clean")
    assert {d["report_sha256"] for d in _rows(run[2] / "payout_decisions.csv")} == {report["report_sha256"]}


def test_evaluate_scores_the_output(run):
    base, landing, out = run
    person = {}
    for a, b in SAME_PERSON:
        person[a] = person[b] = f"T_{a}"
    truth = base / "truth"
    truth.mkdir(exist_ok=True)
    with open(truth / "identities.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["record_type", "record_id", "true_person_id"])
        for table, rtype in (("referrers", "referrer"), ("candidates", "candidate")):
            for r in _rows(landing / f"{table}.csv"):
                rid = r[f"{rtype}_id"]
                w.writerow([rtype, rid, person.get(f"{rtype}:{rid}", f"T_{rtype}:{rid}")])
    with open(truth / "patterns.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["pattern", "true_person_id", "role"])
        w.writerow(["early_exit", "T_candidate:C_EE", "candidate"])
        w.writerow(["early_exit", "T_candidate:C_EEr", "candidate"])
        w.writerow(["shared_payout_account", "T_referrer:R_SA1", "referrer"])
        w.writerow(["shared_payout_account", "T_referrer:R_SA2", "referrer"])
    with open(truth / "payouts.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["payout_id", "expected_decision", "reasons", "blocked"])
        for pid, (decision, reasons) in EXPECTED_DECISIONS.items():
            w.writerow([pid, decision, reasons, str(decision != "release").lower()])
    scores = evaluate(out, truth, landing)
    assert scores["patterns"]["early_exit"]["recall"] == 1.0
    assert scores["patterns"]["shared_payout_account"]["precision"] == 1.0
    assert scores["payouts"]["exact_decision_rate"] == 1.0
    assert scores["identity"]["precision"] == 1.0 and scores["identity"]["recall"] == 1.0
    assert "baseline" in format_scores(scores)


@pytest.mark.skipif(not CHECKER.exists(), reason="the contract checker is not beside the repository")
def test_output_passes_the_contract_checker(run):
    _, landing, out = run
    result = subprocess.run([sys.executable, str(CHECKER), "--landing", str(landing), "--export", str(out),
                             "--as-of", AS_OF.isoformat()], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_applications_and_an_earlier_as_of(tmp_path):
    landing = world().write_landing(tmp_path / "landing", skip=("applications",))
    out = baseline_run(landing, AS_OF, tmp_path / "out")
    dup = _flagged(out, "duplicate_referral")
    assert ("referral", "RFAPP") not in dup and ("referral", "RFD") in dup  # no applications: none to see

    earlier = baseline_run(landing, dt.date(2026, 1, 31), tmp_path / "earlier")
    assert ("hire", "HEE") not in _flagged(earlier, "early_exit")  # it ended on 2026-02-01, after that day
    assert ("referral", "RF_PH") not in _flagged(earlier, "self_referral")  # filed in March
    assert not any(d["payout_id"] == "PEE" for d in _rows(earlier / "payout_decisions.csv"))
