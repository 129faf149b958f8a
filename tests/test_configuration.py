"""One home for every default: bountyguard/default_config.toml. Every registered detector takes
exactly its section's settings (and nothing in Python holds a default of its own), the registry is
the contract's pattern codes, each rule's SQL parameters are settings of its detector, and a wrong
setting is a configuration error everywhere (which fails an Airflow task without retrying)."""
import inspect

import pytest

from bountyguard import models, validate
from bountyguard.config import defaults, load_config
from bountyguard.contract import PATTERNS
from bountyguard.errors import ConfigError
from detectors import REGISTRY, build_detectors


def test_the_registry_is_the_contracts_pattern_codes():
    assert tuple(REGISTRY) == PATTERNS or set(REGISTRY) == set(PATTERNS)
    assert [d.pattern for d in build_detectors(load_config())] == list(REGISTRY)


@pytest.mark.parametrize("pattern", sorted(REGISTRY))
def test_each_detector_takes_exactly_its_configuration_section(pattern):
    section = defaults()[pattern]
    detector = REGISTRY[pattern].from_config()
    assert detector.params == section  # same names, same values: the TOML is the only source
    for name, value in section.items():
        assert getattr(detector, name) == value


@pytest.mark.parametrize("pattern", sorted(REGISTRY))
def test_no_detector_holds_a_default_of_its_own(pattern):
    cls = REGISTRY[pattern]
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                assert p.default is inspect.Parameter.empty, f"{klass.__name__}.__init__ defaults {p.name}"


@pytest.mark.parametrize("pattern", sorted(p for p, c in REGISTRY.items() if hasattr(c, "sql_file")))
def test_each_rules_parameters_are_its_detectors_settings(pattern):
    detector = REGISTRY[pattern].from_config()
    assert set(models.models()[detector.model].params) <= set(defaults()[pattern])


def test_validation_settings_come_from_the_toml_only():
    assert not hasattr(validate, "DEFAULTS")
    assert validate.validation_settings(load_config()) == defaults()["validation"]


@pytest.mark.parametrize("pattern", sorted(REGISTRY))
def test_a_missing_or_unknown_setting_is_a_configuration_error(pattern):
    section = dict(defaults()[pattern])
    with pytest.raises(ConfigError, match="unknown setting"):
        REGISTRY[pattern](**section, no_such_setting=1)
    if section:
        section.pop(sorted(section)[0])
        with pytest.raises(ConfigError, match="missing setting"):
            REGISTRY[pattern](**section)


def test_out_of_range_settings_are_configuration_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[velocity_spike]\npeer_quantile = 1.5\n")
    with pytest.raises(ConfigError, match="peer_quantile"):
        build_detectors(load_config(bad))
    bad.write_text("[referral_ring]\nmin_cycle_length = 5\n")
    with pytest.raises(ConfigError, match="min_cycle_length"):
        build_detectors(load_config(bad))


def test_identity_settings_are_exactly_the_toml_section():
    from dataclasses import fields

    from bountyguard.identity import IdentityConfig

    assert {f.name for f in fields(IdentityConfig)} == set(defaults()["identity"])
    assert all(f.default is f.default_factory for f in fields(IdentityConfig))  # both MISSING: no defaults
    config = IdentityConfig.from_config()
    for name, value in defaults()["identity"].items():
        assert getattr(config, name) == (tuple(value) if isinstance(value, list) else value)


def test_the_machines_duckdb_limits_come_from_the_environment(tmp_path, monkeypatch):
    """Memory, spill folder and cores are the deployment's, set on every connection to the file."""
    from bountyguard.db import connect

    spill = tmp_path / "spill"
    monkeypatch.setenv("BOUNTYGUARD_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("BOUNTYGUARD_DUCKDB_TEMP_DIRECTORY", str(spill))
    monkeypatch.setenv("BOUNTYGUARD_DUCKDB_THREADS", "1")
    monkeypatch.setenv("BOUNTYGUARD_DUCKDB_MAX_TEMP_SIZE", "2GB")
    con = connect(tmp_path / "a.duckdb")
    try:
        limit, temp, threads, spill_cap = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), current_setting('threads'), "
            "current_setting('max_temp_directory_size')").fetchone()
    finally:
        con.close()
    assert (limit, temp, threads, spill_cap) == ("953.6 MiB", str(spill), 1, "1.8 GiB")

    monkeypatch.setenv("BOUNTYGUARD_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="BOUNTYGUARD_DUCKDB_MEMORY_LIMIT='lots'"):
        connect(tmp_path / "a.duckdb")
