"""The detector library: one module per pattern code, a common interface, and this registry."""
from detectors.base import Detector, SqlRuleDetector
from detectors.early_exit import EarlyExitDetector
from detectors.serial_rereferral import SerialRereferralDetector

# pattern code -> detector class; the configuration section of the same name holds its parameters
REGISTRY: dict[str, type[Detector]] = {
    cls.pattern: cls
    for cls in (
        EarlyExitDetector,
        SerialRereferralDetector,
    )
}


def build_detectors(config: dict) -> list[Detector]:
    """One detector per registered pattern, parameterised from its configuration section."""
    return [cls(**config.get(pattern, {})) for pattern, cls in REGISTRY.items()]


__all__ = ["Detector", "SqlRuleDetector", "REGISTRY", "build_detectors"]
