"""job_hopping: a candidate with many short tenures at different companies, whoever referred them."""
from detectors.base import SqlRuleDetector


class JobHoppingDetector(SqlRuleDetector):
    pattern = "job_hopping"
    sql_file = "rules/job_hopping.sql"
    flags_follow = "chained_candidate"  # each flag reads only its (chained) candidate person's stints
