"""The [identity] settings. bountyguard/default_config.toml holds and documents every one of them and
their defaults; nothing here has a default of its own."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from bountyguard.errors import ConfigError


@dataclass(frozen=True)
class IdentityConfig:
    """The [identity] section of the configuration."""

    match_threshold: float
    match_threshold_without_birth_date: float
    max_key_group_size: int
    contact_name_max_edits: int
    default_phone_region: str
    fallback_phone_regions: tuple[str, ...]
    train_model: bool
    min_records_for_training: int
    seed: int
    term_frequency_adjustments: bool
    u_max_pairs: float
    em_max_pairs: float
    predict_chunks: int
    max_block_size: int
    retrain_after_growth: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None, **overrides) -> "IdentityConfig":
        """From a loaded configuration (the packaged defaults when none is given), with overrides."""
        from bountyguard.config import load_config

        section = (config if config is not None else load_config())["identity"]
        return cls.from_mapping({**section, **overrides})

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "IdentityConfig":
        mapping = dict(mapping)
        known = {f.name: f.type for f in fields(cls)}
        unknown, missing = sorted(set(mapping) - set(known)), sorted(set(known) - set(mapping))
        if unknown or missing:
            raise ConfigError("[identity]: " + "; ".join(
                ([f"unknown setting(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing setting(s) {', '.join(missing)}"] if missing else [])))
        values: dict[str, Any] = {}
        for name, value in mapping.items():
            kind = known[name]
            if kind == "bool":
                if not isinstance(value, bool):
                    raise ConfigError(f"[identity] {name}: expected true/false, got {value!r}")
            elif kind.startswith("tuple"):
                if isinstance(value, str) or not isinstance(value, (list, tuple)):
                    raise ConfigError(f"[identity] {name}: expected a list, got {value!r}")
                value = tuple(str(v) for v in value)
            elif kind in ("int", "float"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"[identity] {name}: expected a number, got {value!r}")
                value = int(value) if kind == "int" else float(value)
            elif kind == "str":
                value = str(value)
            values[name] = value
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not 0.0 < self.match_threshold < 1.0:
            raise ConfigError("[identity] match_threshold must be between 0 and 1 (exclusive)")
        if not 0.0 < self.match_threshold_without_birth_date < 1.0:
            raise ConfigError("[identity] match_threshold_without_birth_date must be between 0 and 1 (exclusive)")
        if self.max_key_group_size < 2:
            raise ConfigError("[identity] max_key_group_size must be at least 2")
        if self.contact_name_max_edits < 0:
            raise ConfigError("[identity] contact_name_max_edits must not be negative")
        for region in (self.default_phone_region, *self.fallback_phone_regions):
            if len(region) != 2 or not region.isalpha():
                raise ConfigError("[identity] default_phone_region and fallback_phone_regions must be "
                                 "ISO 3166-1 alpha-2 codes")
        if self.predict_chunks < 1:
            raise ConfigError("[identity] predict_chunks must be at least 1")
        if self.max_block_size < 2:
            raise ConfigError("[identity] max_block_size must be at least 2")
        if not self.retrain_after_growth >= 0.0:
            raise ConfigError("[identity] retrain_after_growth must not be negative")
