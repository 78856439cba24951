"""Supervision records kept at central (entered through the dashboard): complaints (投诉),
bad-rating follow-ups (差评回访) and patrol findings (巡查).

Storage: three tables created by migration 3, their peewee models in central.store.schema
(`store.records`). One module each: `complaints`, `followups`, `patrols`; the form checks they
share in `forms`.

- Complaints are routed (归口) to the department owning the person (staff → their department),
  else the window, else the service item; the central admin may re-route. Reply due date from
  the received day: 一般 the same day, 需调查 15 days, 复杂 30 days (calendar days, [H 限时办结-3]).
  Overdue = no reply and the due day has passed.
- Follow-ups are not stored per rating: the list is every `rating.given` event with level <= 2
  in the merged events; only the follow-up state is stored, keyed by (hall, event id). The fix
  deadline is the rating's local day + `[followups] fix_days` open days of the hall's calendar.
  An accepted appeal (申诉) excludes that rating from 好评率 (`followups.excluded_ratings`).
- Patrol findings (现场巡查 / 电子监察), one row each; the monthly bulletin (通报) flags staff named
  in `[supervision] notice_bulletins` consecutive bulletins for a written notice to their home
  department [C 20] (`notice_pdf`: the A4 PDF).
- Electronic supervision (`auto`): findings computed, never stored, from the halls' events
  (step-aways over the limit, lateness, early leave, absence, overdue cases and 容缺 supply,
  late follow-ups; `[supervision.auto]`), listed and counted with the patrol findings.

Every change goes through a function here that checks the caller's role, validates the input
(central.errors `BadRequest` with a Chinese message; nothing is written on error) and writes the change and
its audit row in one transaction.
"""
