"""Scheduled reports: the PM digest, the client progress summary and their scheduler.

- `mailbot.reports.digest`: `make_digests`, `preview_digests`, `render_digest`
- `mailbot.reports.summary`: `make_summary`, `release_summary`, `preview_summary`,
  `render_summary`
- `mailbot.reports.scheduler`: `ReportScheduler(config, db).run_pending(now)`
- `mailbot.reports.periods`: period keys (`2026-11-27`, `2026-W48`) and due times
"""
