"""Identity resolution on data it did not write: the public FEBRL record-linkage sets 1, 2 and 4, mapped
onto the contract's fields (full name, birth date, city) and resolved by the production code path.

Floors: pairwise F1 at least what a plain Splink model on the same fields reaches (measured beside it in
this test, and never below the issue's 0.93 / 0.98 / 0.98), and precision at least 0.98 on each set (a
false merge is a false self-referral). The data lives beside the repository in ../shared/data/febrl;
without it the test skips, or fails when CI=true.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bountyguard.evaluation import febrl

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "febrl"
FILES = [name for files in febrl.DATASETS.values() for name in files]

# pairwise F1 floors per set (the plain Splink model's, as measured when the issue was written)
F1_FLOOR = {"1": 0.93, "2": 0.98, "4": 0.98}
PRECISION_FLOOR = 0.98


@pytest.fixture(scope="module")
def scores():
    missing = [name for name in FILES if not (DATA / name).is_file()]
    if missing:
        reason = f"FEBRL data missing in {DATA}: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return febrl.febrl_scores(("1", "2", "4"), baseline=True, data_dir=DATA)


@pytest.mark.parametrize("name", ["1", "2", "4"])
def test_bountyguard_is_at_least_as_good_as_plain_splink(scores, name):
    entry = scores["sets"][name]
    ours, plain = entry["bountyguard"], entry["plain_splink"]
    print(f"FEBRL{name}: bountyguard P {ours['precision']} R {ours['recall']} F1 {ours['f1']}; "
          f"plain Splink P {plain['precision']} R {plain['recall']} F1 {plain['f1']}")
    assert ours["records"] == entry["records"]  # every record resolved
    assert ours["precision"] >= PRECISION_FLOOR, ours
    assert ours["f1"] >= F1_FLOOR[name], ours
    assert ours["f1"] >= plain["f1"], (ours, plain)


def test_the_measurement_uses_the_production_configuration(scores):
    # the packaged [identity] section, trained on each set (each has at least 1,000 records)
    assert {entry["bountyguard_model"] for entry in scores["sets"].values()} == {"trained"}


def test_the_mapping_keeps_only_contract_fields():
    if not (DATA / "dataset1.csv").is_file():
        pytest.skip(f"FEBRL data missing in {DATA}")
    records = febrl.load_dataset("1", DATA)
    assert len(records) == 1000
    assert len({r.true_person for r in records}) == 500
    assert {r.record_type for r in records} == {"referrer", "candidate"}
    # a corrupted or empty date_of_birth is no birth date; everything else comes through
    assert any(r.birth_date is None for r in records) and any(r.birth_date is not None for r in records)
    assert all(r.full_name is None or r.full_name == r.full_name.strip() for r in records)


def test_format_prints_both_resolvers(scores):
    text = febrl.format_febrl(scores)
    assert "bountyguard" in text and "plain splink" in text
    assert text.count("FEBRL") >= 6
