"""velocity_spike: a referrer's volume far above their own history and their peers, judged around
the time each referral was made (a burst's bounties fall due months later)."""
from detectors.base import SqlRuleDetector


class VelocitySpikeDetector(SqlRuleDetector):
    pattern = "velocity_spike"
    sql_file = "rules/velocity_spike.sql"

    def __init__(self, burst_days: int = 30, baseline_days: int = 365, min_burst_referrals: int = 10,
                 min_ratio_to_own_history: float = 6.0, peer_quantile: float = 0.5, peer_multiplier: float = 3.0,
                 lookback_days: int = 1095, min_known_history_days: int = 90):
        super().__init__(burst_days=burst_days, baseline_days=baseline_days,
                         min_burst_referrals=min_burst_referrals,
                         min_ratio_to_own_history=min_ratio_to_own_history, peer_quantile=peer_quantile,
                         peer_multiplier=peer_multiplier, lookback_days=lookback_days,
                         min_known_history_days=min_known_history_days)
