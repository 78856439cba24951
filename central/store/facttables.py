"""The fact tables (docs/central.md, section Storage): the reports' figures per hall and local
day, their month roll-ups, the dirty marks and the ticket and case maps that route late events
to their day. Created by migrations 4, 7 and 13 (central.store.marks, central.store.migrations); filled by central.facts."""

OUTCOMES = ("instant", "promised", "joint", "notice", "gaps", "refused")
VISIT_COUNTS = ("visits", "completed", "no_show", "transferred", "unrated") + OUTCOMES
DDL = [
    "CREATE TABLE IF NOT EXISTS fact_dirty (hall TEXT NOT NULL, day TEXT NOT NULL, token BIGINT NOT NULL,"
    " PRIMARY KEY (hall, day))",
    "CREATE TABLE IF NOT EXISTS fact_tickets (hall TEXT NOT NULL, ticket TEXT NOT NULL, day TEXT NOT NULL,"
    " PRIMARY KEY (hall, ticket, day))",
    "CREATE TABLE IF NOT EXISTS fact_case_tickets (hall TEXT NOT NULL, case_id TEXT NOT NULL, ticket TEXT NOT NULL,"
    " PRIMARY KEY (hall, case_id, ticket))",
    "CREATE TABLE IF NOT EXISTS fact_visits (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, "
    + ", ".join(f"{c} INTEGER NOT NULL" for c in VISIT_COUNTS) + ")",
    "CREATE INDEX IF NOT EXISTS fact_visits_hall_day ON fact_visits (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_visits_day ON fact_visits (day)",
    "CREATE TABLE IF NOT EXISTS fact_hist (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " wait TEXT NOT NULL, service TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_hist_hall_day ON fact_hist (hall, day)",
    "CREATE TABLE IF NOT EXISTS fact_hist_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " wait TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (hall, month, department))",
    "CREATE TABLE IF NOT EXISTS fact_ratings (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, level INTEGER NOT NULL, n INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_hall_day ON fact_ratings (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_day ON fact_ratings (day)",
    "CREATE TABLE IF NOT EXISTS fact_cases (hall TEXT NOT NULL, day TEXT NOT NULL, case_id TEXT NOT NULL,"
    " department TEXT NOT NULL, win TEXT NOT NULL, staff TEXT NOT NULL, deadline TEXT NOT NULL, finished TEXT)",
    "CREATE INDEX IF NOT EXISTS fact_cases_hall_day ON fact_cases (hall, day)",
    "CREATE TABLE IF NOT EXISTS fact_staff_days (hall TEXT NOT NULL, day TEXT NOT NULL, staff TEXT NOT NULL,"
    " punched INTEGER NOT NULL, slots INTEGER NOT NULL, late INTEGER NOT NULL, early INTEGER NOT NULL,"
    " step_aways INTEGER NOT NULL, violations INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_staff_days_hall_day ON fact_staff_days (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_staff_days_day ON fact_staff_days (day)",
]
ALL = "*"  # the department of a month row summed over every department
# migration 7: hourly facts and the month roll-ups of the counts (docs/central.md, Storage)
DDL_ROLLUPS = [
    "CREATE TABLE IF NOT EXISTS fact_hours (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " hour INTEGER NOT NULL, visits INTEGER NOT NULL, called INTEGER NOT NULL, wait TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_hours_hall_day ON fact_hours (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_hours_day ON fact_hours (day)",
    "CREATE TABLE IF NOT EXISTS fact_hours_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " hour INTEGER NOT NULL, visits INTEGER NOT NULL, called INTEGER NOT NULL, wait TEXT NOT NULL,"
    " PRIMARY KEY (hall, month, department, hour))",
    "CREATE INDEX IF NOT EXISTS fact_hours_month_month ON fact_hours_month (month, department)",
    "CREATE TABLE IF NOT EXISTS fact_visits_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, "
    + ", ".join(f"{c} INTEGER NOT NULL" for c in VISIT_COUNTS) + ")",
    "CREATE INDEX IF NOT EXISTS fact_visits_month_hall ON fact_visits_month (hall, month)",
    "CREATE INDEX IF NOT EXISTS fact_visits_month_month ON fact_visits_month (month)",
    "CREATE TABLE IF NOT EXISTS fact_ratings_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, level INTEGER NOT NULL, n INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_month_hall ON fact_ratings_month (hall, month)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_month_month ON fact_ratings_month (month)",
    "CREATE TABLE IF NOT EXISTS fact_staff_month (hall TEXT NOT NULL, month TEXT NOT NULL, staff TEXT NOT NULL,"
    " days TEXT NOT NULL, late INTEGER NOT NULL, early INTEGER NOT NULL, step_aways INTEGER NOT NULL,"
    " violations INTEGER NOT NULL, PRIMARY KEY (hall, month, staff))",
    "CREATE INDEX IF NOT EXISTS fact_staff_month_month ON fact_staff_month (month)",
    "CREATE INDEX IF NOT EXISTS fact_hist_month_month ON fact_hist_month (month, department)",
]
# migration 13: the month roll-up of the finished cases (their on-time and late counts do not
# depend on the day a report is asked); the open ones, whose overdue count does, are read from
# the day rows through a partial index (few: a case is open until its hall finishes it)
DDL_CASES_MONTH = [
    "CREATE TABLE IF NOT EXISTS fact_cases_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, finished INTEGER NOT NULL, on_time INTEGER NOT NULL,"
    " late INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_cases_month_hall ON fact_cases_month (hall, month)",
    "CREATE INDEX IF NOT EXISTS fact_cases_month_month ON fact_cases_month (month)",
    "CREATE INDEX IF NOT EXISTS fact_cases_open ON fact_cases (day) WHERE finished IS NULL",
]
CASES_MONTH_SELECT = (  # the month columns from day rows of fact_cases (grouped by hall, department, win, staff)
    "COUNT(*), SUM(CASE WHEN finished <= deadline THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN finished > deadline THEN 1 ELSE 0 END)")
DAY_TABLES = ("fact_visits", "fact_hist", "fact_ratings", "fact_cases", "fact_staff_days", "fact_hours")
MONTH_TABLES = ("fact_hist_month", "fact_hours_month", "fact_visits_month", "fact_ratings_month", "fact_staff_month",
                "fact_cases_month")
COLUMNS = {
    "fact_visits": ("hall", "day", "department", "win", "staff") + VISIT_COUNTS,
    "fact_hist": ("hall", "day", "department", "wait", "service"),
    "fact_ratings": ("hall", "day", "department", "win", "staff", "level", "n"),
    "fact_cases": ("hall", "day", "case_id", "department", "win", "staff", "deadline", "finished"),
    "fact_staff_days": ("hall", "day", "staff", "punched", "slots", "late", "early", "step_aways", "violations"),
    "fact_hours": ("hall", "day", "department", "hour", "visits", "called", "wait"),
}
