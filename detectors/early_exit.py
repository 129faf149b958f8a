"""early_exit: the hire ended before its guarantee period was over; the bounty is not owed."""
from detectors.base import SqlRuleDetector


class EarlyExitDetector(SqlRuleDetector):
    pattern = "early_exit"
    sql_file = "rules/early_exit.sql"

    def __init__(self, high_severity_share: float = 0.5):
        super().__init__(high_severity_share=high_severity_share)
