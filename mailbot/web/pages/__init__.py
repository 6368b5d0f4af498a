"""The pages of the web workspace; each module lists its `ROUTES`."""

from __future__ import annotations

from mailbot.web.pages import account, item, ops, queue, signin, summaries, users

PAGES = [signin, account, queue, item, ops, summaries, users]
