"""Serve the web workspace with uvicorn, as the config (or the command line) says."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.storage.db import open_database
from mailbot.storage.models import User
from mailbot.web.app import create_app

log = logging.getLogger("mailbot.web")


def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    root_path: str | None = None,
) -> None:
    import uvicorn

    db = open_database(config.database_url)
    with db.session() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
    if not users:
        log.warning(
            "no one can sign in yet: add an account with `mailbot user add NAME --role admin`"
        )
    app = create_app(config, db)
    web = config.web
    host, port = host or web.host, port or web.port
    root = web.root_path if root_path is None else root_path.rstrip("/")
    log.info("web workspace on http://%s:%d%s/", host, port, root)
    uvicorn.run(
        app,
        host=host,
        port=port,
        root_path=root,
        proxy_headers=True,
        forwarded_allow_ips=",".join(web.trusted_proxies),
        server_header=False,
        access_log=False,
        log_config=None,  # mailbot's own logging set-up
    )
