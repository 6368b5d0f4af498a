"""The pages of the web workspace; each module lists its `ROUTES`."""

from __future__ import annotations

from mailbot.web.pages import account, item, queue, signin

PAGES = [signin, account, queue, item]
