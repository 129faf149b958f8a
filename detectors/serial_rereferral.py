"""serial_rereferral: the same person placed again and again through referrals, each stint ending
shortly after its guarantee period (the bounty-farming scheme)."""
from detectors.base import SqlRuleDetector


class SerialRereferralDetector(SqlRuleDetector):
    pattern = "serial_rereferral"
    sql_file = "rules/serial_rereferral.sql"

    def __init__(
        self,
        min_placements: int = 3,
        window_months: int = 24,
        days_after_guarantee: int = 30,
        min_exits_after_guarantee: int = 2,
    ):
        super().__init__(
            min_placements=min_placements,
            window_months=window_months,
            days_after_guarantee=days_after_guarantee,
            min_exits_after_guarantee=min_exits_after_guarantee,
        )
