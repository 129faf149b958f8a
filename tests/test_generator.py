"""The synthetic data generator: contract-valid landing data, and truth that matches the data."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bountyguard.contract import (APPLICATION_SOURCES, CHANNELS, END_REASONS, LOAD_ORDER, PATTERNS, PAYOUT_STATUSES,
                                  TABLES)
from bountyguard.evaluation.generator import generate

AS_OF = date(2026, 6, 30)
SCALE = 0.2
TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


class Data:
    """One generated folder, read back as plain rows."""

    def __init__(self, out: Path, summary: dict):
        self.out, self.summary = out, summary
        self.header, self.t = {}, {}
        for name in LOAD_ORDER:
            self.header[name], self.t[name] = read(out / "landing" / f"{name}.csv")
        self.by_id = {name: {r[TABLES[name].key]: r for r in self.t[name]} for name in LOAD_ORDER}
        _, self.identities = read(out / "truth" / "identities.csv")
        _, self.patterns = read(out / "truth" / "patterns.csv")
        _, self.payout_truth = read(out / "truth" / "payouts.csv")
        self.meta = json.loads((out / "truth" / "meta.json").read_text(encoding="utf-8"))
        self.person = {(r["record_type"], r["record_id"]): r["true_person_id"] for r in self.identities}

    def referrer_person(self, referrer_id):
        return self.person[("referrer", referrer_id)]

    def candidate_person(self, candidate_id):
        return self.person[("candidate", candidate_id)]

    def rows(self, pattern):
        return [r for r in self.patterns if r["pattern"] == pattern]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Data:
    out = tmp_path_factory.mktemp("gen")
    return Data(out, generate(out, seed=7, scale=SCALE, as_of=AS_OF))


@pytest.fixture(scope="module")
def data_with_anomaly(tmp_path_factory) -> Data:
    out = tmp_path_factory.mktemp("gen_anomaly")
    return Data(out, generate(out, seed=7, scale=SCALE, as_of=AS_OF, rule_free_abuse=True))


def folder_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def day(text: str) -> date:
    return date.fromisoformat(text[:10])


def moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


# --- determinism ---------------------------------------------------------------------------------------

def test_same_seed_gives_same_bytes_and_other_seed_differs(data, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=7, scale=SCALE, as_of=AS_OF)
    assert folder_bytes(again) == folder_bytes(data.out)
    other = tmp_path / "other"
    generate(other, seed=8, scale=SCALE, as_of=AS_OF)
    assert folder_bytes(other)["landing/referrals.csv"] != folder_bytes(data.out)["landing/referrals.csv"]


def test_option_adds_anomaly_only_and_is_off_by_default(data, data_with_anomaly):
    assert not data.rows("anomaly")
    assert data.meta["rule_free_abuse"] is False
    anomalies = data_with_anomaly.rows("anomaly")
    assert len(anomalies) >= 5
    assert all(r["role"] == "referrer" for r in anomalies)
    # every other pattern keeps its persons (the option draws from its own random stream)
    for pattern in PATTERNS:
        if pattern != "anomaly":
            assert len(data.rows(pattern)) == len(data_with_anomaly.rows(pattern)), pattern
    assert len(data_with_anomaly.t["referrals"]) > len(data.t["referrals"])


def test_anomaly_referrers_place_distinct_people_who_all_quit_just_after_the_guarantee(data_with_anomaly):
    d = data_with_anomaly
    for row in d.rows("anomaly"):
        hires = [d.by_id["hires"][h] for h in row["hire_ids"].split(";") if h]
        assert len(hires) >= 5
        people = {d.candidate_person(h["candidate_id"]) for h in hires}
        assert len(people) == len(hires)
        for h in hires:
            g = int(d.by_id["jobs"][h["job_id"]]["guarantee_days"])
            after = (day(h["ended_at"]) - day(h["started_at"])).days - g
            assert 1 <= after <= 10


# --- the landing data follows the contract -------------------------------------------------------------

def test_every_table_has_exactly_the_contract_columns(data):
    for name in LOAD_ORDER:
        assert data.header[name] == TABLES[name].column_names, name
        assert data.t[name], f"{name} is empty"


def test_keys_unique_and_foreign_keys_resolve(data):
    for name in LOAD_ORDER:
        table = TABLES[name]
        keys = [r[table.key] for r in data.t[name]]
        assert len(keys) == len(set(keys)), name
        for col in table.columns:
            if col.references:
                target, target_col = col.references.split(".")
                ids = data.by_id[target]
                for r in data.t[name]:
                    if r[col.name] or not col.nullable:
                        assert r[col.name] in ids, (name, col.name)
    for p in data.t["payouts"]:
        hire = data.by_id["hires"][p["hire_id"]]
        assert hire["referral_id"] == p["referral_id"]
        assert data.by_id["referrals"][p["referral_id"]]["referrer_id"] == p["referrer_id"]
    for h in data.t["hires"]:
        if h["referral_id"]:
            ref = data.by_id["referrals"][h["referral_id"]]
            assert (ref["candidate_id"], ref["job_id"]) == (h["candidate_id"], h["job_id"])
    paid = Counter(p["hire_id"] for p in data.t["payouts"])
    referred = [h["hire_id"] for h in data.t["hires"] if h["referral_id"]]
    assert sorted(paid) == sorted(referred) and set(paid.values()) == {1}


def test_codes_amounts_and_formats(data):
    for col_table, col, allowed in (("referrals", "channel", CHANNELS), ("applications", "source", APPLICATION_SOURCES),
                                    ("payouts", "status", PAYOUT_STATUSES)):
        assert {r[col] for r in data.t[col_table]} <= set(allowed)
    assert {r["end_reason"] for r in data.t["hires"]} <= set(END_REASONS) | {""}
    for h in data.t["hires"]:
        assert bool(h["ended_at"]) == bool(h["end_reason"])
    assert {c["country"] for c in data.t["companies"]} >= {"DE", "AT", "CH", "PL", "UA"}
    currencies = Counter(j["currency"] for j in data.t["jobs"])
    assert currencies.most_common(1)[0][0] == "EUR" and {"CHF", "PLN"} <= set(currencies)
    for j in data.t["jobs"]:
        assert re.fullmatch(r"\d+\.\d{2}", j["bounty_amount"]) and float(j["bounty_amount"]) > 0
        assert int(j["guarantee_days"]) in (30, 60, 90, 180)
    for p in data.t["payouts"]:
        job = data.by_id["jobs"][data.by_id["hires"][p["hire_id"]]["job_id"]]
        assert (p["amount"], p["currency"]) == (job["bounty_amount"], job["currency"])
    for name in LOAD_ORDER:
        for col in TABLES[name].columns:
            for r in data.t[name]:
                value = r[col.name]
                if not value:
                    assert col.nullable, (name, col.name)
                elif col.type == "TIMESTAMP":
                    assert TS.fullmatch(value), (name, col.name, value)
                elif col.type == "DATE":
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), (name, col.name)


def test_dates_are_consistent_and_nothing_lies_after_as_of(data):
    for name in LOAD_ORDER:
        for col in TABLES[name].columns:
            if col.type in ("TIMESTAMP", "DATE") and (name, col.name) != ("payouts", "eligible_at"):
                for r in data.t[name]:
                    if r[col.name]:
                        assert day(r[col.name]) <= AS_OF, (name, col.name)
    refs, jobs = data.by_id["referrals"], data.by_id["jobs"]
    cand_created = {c["candidate_id"]: moment(c["created_at"]) for c in data.t["candidates"]}
    signed_up = {r["referrer_id"]: moment(r["signed_up_at"]) for r in data.t["referrers"]}
    for r in data.t["referrals"]:
        at = moment(r["referred_at"])
        assert signed_up[r["referrer_id"]] < at and cand_created[r["candidate_id"]] < at
        assert moment(jobs[r["job_id"]]["posted_at"]) < at
    for a in data.t["applications"]:
        assert cand_created[a["candidate_id"]] < moment(a["applied_at"])
    for h in data.t["hires"]:
        assert day(h["hired_at"]) <= day(h["started_at"])
        assert not h["ended_at"] or day(h["started_at"]) <= day(h["ended_at"])
        if h["referral_id"]:
            assert moment(refs[h["referral_id"]]["referred_at"]) < moment(h["hired_at"])
    for p in data.t["payouts"]:
        hire = data.by_id["hires"][p["hire_id"]]
        g = int(jobs[hire["job_id"]]["guarantee_days"])
        assert day(p["eligible_at"]) == day(hire["started_at"]) + timedelta(days=g)
        assert bool(p["released_at"]) == (p["status"] in ("released", "clawed_back"))


def test_valid_ibans_and_country_matched_phones(data):
    phonenumbers = pytest.importorskip("phonenumbers")
    country_of_city = {}
    from bountyguard.evaluation.generator.disguise import CITIES
    for country, cities in CITIES.items():
        for spellings in cities:
            for s in spellings:
                country_of_city[s] = country
    for r in data.t["referrers"]:
        if r["payout_iban"]:
            compact = r["payout_iban"].replace(" ", "").upper()
            digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
            assert int(digits) % 97 == 1
    checked = 0
    for r in data.t["referrers"] + data.t["candidates"]:
        if r["phone"] and r["city"]:
            number = phonenumbers.parse(r["phone"], country_of_city[r["city"]])
            assert phonenumbers.is_valid_number(number)
            assert phonenumbers.region_code_for_number(number) == country_of_city[r["city"]]
            checked += 1
    assert checked > 1000


# --- the truth -----------------------------------------------------------------------------------------

def test_identities_cover_every_record_exactly_once(data):
    keys = [(r["record_type"], r["record_id"]) for r in data.identities]
    assert len(keys) == len(set(keys))
    expected = {("referrer", r["referrer_id"]) for r in data.t["referrers"]}
    expected |= {("candidate", c["candidate_id"]) for c in data.t["candidates"]}
    assert set(keys) == expected
    # some people are both referrer and candidate, some have several records of one kind
    kinds = defaultdict(Counter)
    for (kind, _), pid in data.person.items():
        kinds[pid][kind] += 1
    assert sum(1 for k in kinds.values() if k["referrer"] and k["candidate"]) >= 10
    assert sum(1 for k in kinds.values() if k["candidate"] > 1) >= 10


def test_every_pattern_present_with_enough_people(data):
    per_pattern = Counter(r["pattern"] for r in data.patterns)
    for pattern in PATTERNS:
        if pattern != "anomaly":
            assert per_pattern[pattern] >= 5, pattern
    assert data.meta["patterns"] == {p: per_pattern[p] for p in PATTERNS}
    rows = {(r["pattern"], r["true_person_id"]) for r in data.patterns}
    assert len(rows) == len(data.patterns)


def test_pattern_rows_name_records_of_that_person(data):
    for row in data.patterns:
        assert row["role"] in ("referrer", "candidate")
        assert row["disguised"] in ("true", "false")
        records = [x for x in row["record_ids"].split(";") if x]
        assert records
        for rid in records:
            kind = "referrer" if rid.startswith("R") else "candidate"
            assert data.person[(kind, rid)] == row["true_person_id"], row["pattern"]
        for col, table in (("referral_ids", "referrals"), ("hire_ids", "hires"), ("payout_ids", "payouts")):
            for x in row[col].split(";"):
                assert not x or x in data.by_id[table]


def test_disguised_records_really_differ_and_exact_ones_share_identifiers(data):
    refs = data.by_id["referrers"]
    cands = data.by_id["candidates"]
    checked = 0
    for pattern in ("self_referral", "referral_ring"):
        for row in data.rows(pattern):
            ids = row["record_ids"].split(";")
            r = next(refs[i] for i in ids if i in refs)
            c = next(cands[i] for i in ids if i in cands)
            if row["disguised"] == "true":
                assert r["full_name"] != c["full_name"]
                assert r["email"] != c["email"] or not r["email"]
                checked += 1
            else:
                assert r["email"] == c["email"] and r["email"]
    for row in data.rows("serial_rereferral"):
        ids = [i for i in row["record_ids"].split(";") if i in cands]
        if row["role"] == "candidate":
            if row["disguised"] == "true":
                assert len(ids) >= 2
                forms = {(cands[i]["full_name"], cands[i]["email"]) for i in ids}
                assert len(forms) == len(ids)
                checked += 1
            else:
                assert len(ids) == 1  # the very same candidate record, re-referred
                refs_of = [x for x in row["referral_ids"].split(";") if x]
                assert len(refs_of) >= 3
    assert checked >= 5


def test_serial_rereferral_stints_end_just_after_each_guarantee(data):
    jobs, hires = data.by_id["jobs"], data.by_id["hires"]
    for row in data.rows("serial_rereferral"):
        if row["role"] != "candidate":
            continue
        stints = sorted((hires[h] for h in row["hire_ids"].split(";")), key=lambda h: h["hired_at"])
        assert 3 <= len(stints) <= 6
        assert len({jobs[h["job_id"]]["company_id"] for h in stints}) == len(stints)
        for h in stints[:-1]:
            after = (day(h["ended_at"]) - day(h["started_at"])).days - int(jobs[h["job_id"]]["guarantee_days"])
            assert 1 <= after <= 21
        decisions = {p["payout_id"]: p["expected_decision"] for p in data.payout_truth}
        payouts = {data.by_id["payouts"][p]["hire_id"]: p for p in row["payout_ids"].split(";")}
        earlier = [decisions[payouts[h["hire_id"]]] for h in stints[:-1]]
        assert all(d == "clawback" for d in earlier if d)


def test_truth_of_data_patterns_matches_the_data(data):
    """early_exit and late_referral recomputed from the landing files equal the truth."""
    jobs, refs = data.by_id["jobs"], data.by_id["referrals"]
    early, late = set(), set()
    for h in data.t["hires"]:
        if not h["referral_id"]:
            continue
        g = int(jobs[h["job_id"]]["guarantee_days"])
        if h["ended_at"] and day(h["ended_at"]) < day(h["started_at"]) + timedelta(days=g):
            early.add(h["hire_id"])
        gap = moment(h["hired_at"]) - moment(refs[h["referral_id"]]["referred_at"])
        if gap <= timedelta(days=2):
            late.add(h["hire_id"])
        else:
            assert gap > timedelta(days=3)  # honest referrals are never borderline
    truth_early = {h for r in data.rows("early_exit") for h in r["hire_ids"].split(";")}
    truth_late = {h for r in data.rows("late_referral") for h in r["hire_ids"].split(";")}
    assert early == truth_early and late == truth_late
    assert len(early) >= 20


def test_honest_background_has_no_accidental_abuse(data):
    labelled = defaultdict(set)
    for r in data.patterns:
        labelled[r["pattern"]].add(r["true_person_id"])
    edges = set()
    for r in data.t["referrals"]:
        a, b = data.referrer_person(r["referrer_id"]), data.candidate_person(r["candidate_id"])
        if a == b:
            assert a in labelled["self_referral"]
        edges.add((a, b))
    for a, b in edges:
        if a != b and (b, a) in edges:
            assert a in labelled["referral_ring"] and b in labelled["referral_ring"]
    by_iban = defaultdict(set)
    for r in data.t["referrers"]:
        if r["payout_iban"]:
            by_iban[r["payout_iban"].replace(" ", "").upper()].add(data.referrer_person(r["referrer_id"]))
    shared_accounts = defaultdict(list)
    for r in data.t["referrers"]:
        if r["payout_iban"]:
            shared_accounts[r["payout_iban"].replace(" ", "").upper()].append(r["referrer_id"])
    for iban, accounts in shared_accounts.items():
        if len(accounts) > 1:
            assert by_iban[iban] <= labelled["shared_payout_account"]
    assert any(len(a) > 1 for a in shared_accounts.values())


def test_look_alikes_are_different_people(data):
    """Namesakes and families sharing a phone exist, and are not one person."""
    people_by_name = defaultdict(set)
    for c in data.t["candidates"]:
        pid = data.candidate_person(c["candidate_id"])
        people_by_name[c["full_name"]].add(pid)
    namesakes = [pids for pids in people_by_name.values() if len(pids) > 1]
    assert len(namesakes) >= 3
    phones = defaultdict(set)
    for r in data.t["referrers"]:
        if r["phone"]:
            phones[re.sub(r"\D", "", r["phone"])[-9:]].add(data.referrer_person(r["referrer_id"]))
    for c in data.t["candidates"]:
        if c["phone"]:
            phones[re.sub(r"\D", "", c["phone"])[-9:]].add(data.candidate_person(c["candidate_id"]))
    assert sum(1 for pids in phones.values() if len(pids) > 1) >= 3


def test_expected_decisions_follow_payout_statuses(data):
    truth = {r["payout_id"]: r for r in data.payout_truth}
    assert set(truth) == set(data.by_id["payouts"])
    seen = Counter()
    for p in data.t["payouts"]:
        t = truth[p["payout_id"]]
        decision = t["expected_decision"]
        due = day(p["eligible_at"]) <= AS_OF
        if p["status"] == "pending" and due:
            assert decision in ("release", "hold", "void")
        elif p["status"] == "released":
            assert decision in ("clawback", "")
        else:
            assert decision == ""
        reasons = [x for x in t["reasons"].split(";") if x]
        assert all(x in PATTERNS for x in reasons)
        assert bool(reasons) == (decision not in ("release", ""))
        assert (t["blocked"] == "true") == (decision in ("hold", "void", "clawback"))
        if decision == "void":
            assert set(reasons) <= {"early_exit", "duplicate_referral", "late_referral"}
        seen[decision] += 1
    for decision in ("release", "hold", "void", "clawback"):
        assert seen[decision] >= 3, decision
    # payouts of a held or clawed-back person carry that person's pattern
    by_person = defaultdict(set)
    for r in data.patterns:
        by_person[r["true_person_id"]].add(r["pattern"])
    for p in data.t["payouts"]:
        t = truth[p["payout_id"]]
        if t["expected_decision"] == "hold":
            hire = data.by_id["hires"][p["hire_id"]]
            persons = {data.referrer_person(p["referrer_id"]), data.candidate_person(hire["candidate_id"])}
            assert set(t["reasons"].split(";")) <= set().union(*(by_person[x] for x in persons))


def test_velocity_spikes_stand_out_from_everyone_else(data):
    last_30 = Counter()
    for r in data.t["referrals"]:
        if (AS_OF - day(r["referred_at"])).days < 30:
            last_30[data.referrer_person(r["referrer_id"])] += 1
    spikers = {r["true_person_id"] for r in data.rows("velocity_spike")}
    assert spikers
    lowest_spike = min(last_30[p] for p in spikers)
    highest_other = max(v for p, v in last_30.items() if p not in spikers)
    assert lowest_spike >= 20 and lowest_spike > highest_other
    due_held = [r for r in data.payout_truth if "velocity_spike" in r["reasons"]]
    assert due_held


def test_meta_and_summary(data):
    assert data.meta["scale"] == SCALE and data.meta["as_of"] == "2026-06-30"
    assert data.summary["rows"] == {name: len(data.t[name]) for name in LOAD_ORDER}
    assert data.meta["rows"] == data.summary["rows"]
