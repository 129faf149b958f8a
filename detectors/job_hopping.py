"""job_hopping: a candidate with many short tenures at different companies, whoever referred them."""
from detectors.base import SqlRuleDetector


class JobHoppingDetector(SqlRuleDetector):
    pattern = "job_hopping"
    sql_file = "rules/job_hopping.sql"

    def __init__(self, min_short_stints: int = 3, short_tenure_days: int = 183, min_companies: int = 3,
                 window_months: int = 48):
        super().__init__(min_short_stints=min_short_stints, short_tenure_days=short_tenure_days,
                         min_companies=min_companies, window_months=window_months)
