"""Adding a pattern touches five places (README, "Adding a pattern"): the contract, its model SQL, its
detector, its configuration section and its tests. This fails when one of them is missing."""
from pathlib import Path

import pytest

from bountyguard import models
from bountyguard.config import defaults
from bountyguard.contract import PATTERNS
from detectors import REGISTRY

TESTS = Path(__file__).resolve().parent
CONTRACT = TESTS.parent.parent / "shared" / "CONTRACT.md"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_pattern_has_a_detector_a_model_a_configuration_section_and_tests(pattern):
    assert pattern in REGISTRY, f"{pattern}: no detector registered in detectors/__init__.py"
    detector = REGISTRY[pattern].from_config()
    assert detector.required_models(), f"{pattern}: its detector reads no SQL model (sql/rules/ or sql/features/)"
    for name in detector.required_models():
        assert name in models.models(), f"{pattern}: model {name} is not in sql/"
    assert pattern in defaults(), f"{pattern}: no [{pattern}] section in bountyguard/default_config.toml"
    test_file = TESTS / "detectors" / f"test_{pattern}.py"
    assert test_file.exists(), f"{pattern}: no {test_file.relative_to(TESTS.parent)} (must-flag cases and look-alikes)"


def test_the_contract_names_exactly_these_patterns():
    assert len(set(PATTERNS)) == len(PATTERNS) == len(REGISTRY)
    if CONTRACT.exists():  # the contract beside the repository; bountyguard/contract.py holds it as data
        text = CONTRACT.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            assert f"| {pattern} |" in text, f"{pattern} is not a pattern code of CONTRACT.md"
