"""The pages of the web workspace; each module lists its `ROUTES`."""

from __future__ import annotations

from mailbot.web.pages import (
    account,
    actions,
    board,
    health,
    hooks,
    item,
    ops,
    projects,
    queue,
    signin,
    summaries,
    users,
)

PAGES = [
    signin,
    account,
    queue,
    item,
    actions,
    board,
    projects,
    ops,
    summaries,
    users,
    health,
    hooks,
]
