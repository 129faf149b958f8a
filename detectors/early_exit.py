"""early_exit: the hire ended before its guarantee period was over; the bounty is not owed."""
from detectors.base import SqlRuleDetector


class EarlyExitDetector(SqlRuleDetector):
    pattern = "early_exit"
    sql_file = "rules/early_exit.sql"
    flags_follow = "stints"  # one flag per row, by its key
