"""velocity_spike: a referrer's volume far above their own history and their peers, judged around
the time each referral was made (a burst's bounties fall due months later)."""
from bountyguard.errors import ConfigError
from detectors.base import SqlRuleDetector


class VelocitySpikeDetector(SqlRuleDetector):
    pattern = "velocity_spike"
    sql_file = "rules/velocity_spike.sql"

    def check_params(self) -> None:
        if not 0 <= self.peer_quantile <= 1:
            raise ConfigError("[velocity_spike] peer_quantile must be between 0 and 1")
        if min(self.burst_days, self.baseline_days, self.lookback_days) <= 0:
            raise ConfigError("[velocity_spike] burst_days, baseline_days and lookback_days must be positive")
