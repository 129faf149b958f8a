"""The detector library: one module per pattern code, a common interface, and this registry."""
from detectors.anomaly import AnomalyDetector
from detectors.base import Detector, SqlRuleDetector
from detectors.duplicate_referral import DuplicateReferralDetector
from detectors.early_exit import EarlyExitDetector
from detectors.job_hopping import JobHoppingDetector
from detectors.late_referral import LateReferralDetector
from detectors.referral_ring import ReferralRingDetector
from detectors.self_referral import SelfReferralDetector
from detectors.serial_rereferral import SerialRereferralDetector
from detectors.shared_payout_account import SharedPayoutAccountDetector
from detectors.velocity_spike import VelocitySpikeDetector

# pattern code -> detector class; the configuration section of the same name holds its parameters
REGISTRY: dict[str, type[Detector]] = {
    cls.pattern: cls
    for cls in (
        EarlyExitDetector,
        SerialRereferralDetector,
        JobHoppingDetector,
        SelfReferralDetector,
        SharedPayoutAccountDetector,
        ReferralRingDetector,
        DuplicateReferralDetector,
        LateReferralDetector,
        VelocitySpikeDetector,
        AnomalyDetector,  # last: it ranks what the rules have not explained
    )
}


def build_detectors(config: dict) -> list[Detector]:
    """One detector per registered pattern, parameterised from its configuration section."""
    return [cls.from_config(config) for cls in REGISTRY.values()]


__all__ = ["Detector", "SqlRuleDetector", "REGISTRY", "build_detectors"]
