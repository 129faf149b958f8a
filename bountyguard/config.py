"""The one configuration loader: packaged defaults, overlaid by an optional TOML file."""
from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from bountyguard.errors import ConfigError


def _merge(base: dict, override: dict, where: str) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if key not in base:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a table")
            merged[key] = _merge(base[key], value, f"{where}.{key}")
        else:
            if type(value) is not type(base[key]) and not (
                isinstance(base[key], float) and isinstance(value, int)
            ):
                raise ConfigError(
                    f"{where}: {key!r} must be {type(base[key]).__name__}, got {type(value).__name__}"
                )
            merged[key] = value
    return merged


def defaults() -> dict[str, Any]:
    text = resources.files("bountyguard").joinpath("default_config.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, overlaid by the file at `path`, then by `overrides` ({section: {key: value}});
    unknown keys and wrong types are errors."""
    config = defaults()
    if path is not None:
        path = Path(path)
        try:
            override = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        config = _merge(config, override, str(path))
    if overrides:
        config = _merge(config, overrides, "overrides")
    return config


def parse_setting(text: str) -> tuple[str, str, list[Any]]:
    """`section.key=v1,v2` (as the command line gives a sweep) -> (section, key, [values]), each
    value read as TOML (numbers, booleans, quoted strings)."""
    name, _, values = text.partition("=")
    section, _, key = name.strip().partition(".")
    if not (section and key and values.strip()):
        raise ConfigError(f"{text!r}: expected section.key=value[,value...], e.g. velocity_spike.min_ratio_to_own_history=2,4,8")
    parsed = []
    for raw in values.split(","):
        try:
            parsed.append(tomllib.loads(f"v = {raw.strip()}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(raw.strip())
    return section, key, parsed


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()
