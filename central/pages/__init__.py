"""The dashboard's pages and JSON APIs (litestar controllers): `dashboard` (login, live view,
reports, charts, drill-down, audit), `awards`, `supervision` (complaints, follow-ups,
patrols), `operations`, `config` (editing the halls' configuration); what they share is in
`common`."""
