"""Connectors to where the team already works: its issue tracker and its chat.

None is required: without `[projects.tracker]` or a chat webhook in the config, nothing
here runs and mailbot behaves as it does alone.

- `base`: the tracker interface (`Tracker`), what it answers (`RemoteIssue`), how it fails.
- `pushes`: the pushes table's outbox, on the shared claims of `storage.work`.
- `filing`: the pushes a filed mail or a notice makes, written in the caller's transaction.
- `worker`: sends due pushes (retries, backoff, exactly once), polls trackers for changes.
- `redmine`, `jira`, `github`, `gitlab`: the trackers; `chat`: the chat webhooks.
"""
