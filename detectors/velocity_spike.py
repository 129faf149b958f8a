"""velocity_spike: a referrer's volume far above their own history and their peers."""
from detectors.base import SqlRuleDetector


class VelocitySpikeDetector(SqlRuleDetector):
    pattern = "velocity_spike"
    sql_file = "rules/velocity_spike.sql"

    def __init__(self, recent_days: int = 30, baseline_days: int = 365, min_recent_referrals: int = 10,
                 min_ratio_to_own_history: float = 4.0, peer_quantile: float = 0.5, peer_multiplier: float = 3.0):
        super().__init__(recent_days=recent_days, baseline_days=baseline_days,
                         min_recent_referrals=min_recent_referrals,
                         min_ratio_to_own_history=min_ratio_to_own_history, peer_quantile=peer_quantile,
                         peer_multiplier=peer_multiplier)
