"""Day facts: the reports' figures per hall and local day, stored, kept exact when events
arrive late or are re-based (docs/central.md, section Storage).

- At ingest the store marks every (hall, local day) whose facts the new events may change
  dirty (central.store.marks); the tables are defined in central.store.facttables.
- A background refresher (`refresher.Refresher`, started with the app) recomputes the dirty
  days, oldest first in bounded chunks, from the events by the projection code
  (central.projections) — a run of consecutive dirty days at a time (`refresh.refresh_marks`) —
  and replaces their rows. A day's rows are written only when its token is still the one read
  before the events were read; a day marked again meanwhile stays dirty.
- Reports aggregate the rows as they are with SQL (`sources.FactSource`; no request recomputes)
  and say how fresh they were (`sources.reading`: as of when, how many days still dirty).
  `sources.EventSource` computes the same figures straight from the events (the on-request
  path), so tests compare the two.

Percentiles: wait and service times go into histograms (`hist.bucket`): whole seconds below one
minute, 5 s below 10 minutes, 30 s below an hour, 5 minutes below 8 hours, one hour beyond; a
percentile is the lower bound of the bucket holding the nearest-rank value. Day histograms are
merged into month histograms (`fact_hist_month`) whenever a day of the month is refreshed, so a
year reads twelve rows per hall and department.
"""
