"""Outgoing mail: the one place that renders, composes, queues and delivers what mailbot sends.

- `send`: `send_templated`, the only way any mail is made: the language, the shared
  template context, threading from the stored message, and the outbox row.
- `templates`: template files by kind, category and language, looked up project → site →
  built-in.
- `compose`: the exact bytes of a reply in the client's thread, or of a fresh notice.
- `outbox`: the outbox table: enqueue once per dedupe key, claim the next due mail, record
  a failure and its retry.
- `smtp` (with `connection`): drain the outbox over SMTP; `delivery`: SMTP or .eml files.

Nothing here imports the pipeline, the policies, the queue or the reports: they call in.
"""
