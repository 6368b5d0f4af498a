"""A real Redmine for tests: Debian's `redmine` package on SQLite, on 127.0.0.1.

Each server gets its own copy of the database dbconfig-common made at install time,
with Redmine's default statuses and trackers loaded, the REST API enabled, an API key
for the admin and a public project "acme"; WEBrick serves it on a free port::

    with RedmineServer(tmp_path) as redmine:
        redmine.tracker_config()             # a TrackerConfig with the API key
        redmine.api("PUT", "/issues/1.json", {"issue": {"status_id": 3}})

Installing it on Debian 12 (about 20 s): preseed dbconfig-common for SQLite, then
`apt-get install redmine redmine-sqlite` (bootstrap.sh test does both).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

from mailbot.config_types import Secret, TrackerConfig

REDMINE_ROOT = Path("/usr/share/redmine")
# The database dbconfig-common created and migrated when the package was installed.
INSTALLED_DB = Path("/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default")
API_KEY = "5eedc0ffee5eedc0ffee5eedc0ffee5eedc0ffee"
START_TIMEOUT = 120.0  # seconds for Rails to boot on a slow, shared machine
HOST = "127.0.0.1"

SETUP = """
Redmine::DefaultData::Loader.load('en') unless IssueStatus.any?
Setting.rest_api_enabled = '1'
admin = User.find_by_login('admin')
admin.must_change_passwd = false
admin.save!
token = Token.find_or_initialize_by(user_id: admin.id, action: 'api')
token.save!
token.update_column(:value, ENV.fetch('MAILBOT_REDMINE_KEY'))  # a new token makes its own
project = Project.find_or_initialize_by(identifier: 'acme')
project.name = 'ACME'
project.is_public = true
project.tracker_ids = Tracker.pluck(:id)
project.enabled_module_names = ['issue_tracking']
project.save!
puts 'ready'
"""

SERVE = """
require 'webrick'
require 'rack'
require 'rack/handler/webrick'
Dir.chdir(ENV.fetch('MAILBOT_REDMINE_ROOT'))
app, _ = Rack::Builder.parse_file('config.ru')
Rack::Handler::WEBrick.run(app, Host: '127.0.0.1', Port: Integer(ENV.fetch('MAILBOT_REDMINE_PORT')),
                           AccessLog: [], Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN))
"""


def redmine_available() -> str | None:
    """None when Debian's Redmine is installed and usable here, else why not."""
    if not (REDMINE_ROOT / "config.ru").is_file():
        return (
            "Debian's redmine is not installed (bootstrap.sh test installs redmine redmine-sqlite)"
        )
    if not INSTALLED_DB.is_file():
        return f"redmine is installed without its SQLite database ({INSTALLED_DB} is missing)"
    if shutil.which("ruby") is None:
        return "ruby is missing"
    if not os.access(INSTALLED_DB, os.R_OK):
        return f"{INSTALLED_DB} cannot be read by this user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class RedmineServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "redmine.sqlite3"
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redmine.log"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RAILS_ENV": "production",
            "DATABASE_URL": f"sqlite3:{self.db}",
            "MAILBOT_REDMINE_KEY": API_KEY,
            "MAILBOT_REDMINE_ROOT": str(REDMINE_ROOT),
            "MAILBOT_REDMINE_PORT": str(self.port),
        }

    def __enter__(self) -> Self:
        shutil.copyfile(INSTALLED_DB, self.db)
        setup = self.folder / "setup.rb"
        setup.write_text(SETUP)
        done = subprocess.run(
            [str(REDMINE_ROOT / "bin" / "rails"), "runner", str(setup)],
            cwd=REDMINE_ROOT,
            env=self._env(),
            capture_output=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        if done.returncode != 0 or b"ready" not in done.stdout:
            raise RuntimeError(f"Redmine's set-up failed: {done.stderr.decode()[-2000:]}")
        serve = self.folder / "serve.rb"
        serve.write_text(SERVE)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["ruby", str(serve)], cwd=REDMINE_ROOT, env=self._env(), stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Redmine stopped at start: {self.log.read_text()[-2000:]}")
            try:
                self.api("GET", "/users/current.json")
                return self
            except OSError:
                time.sleep(0.2)  # waiting for the port to open, not a fixed wait for a result
        self.__exit__()
        raise RuntimeError(f"Redmine did not answer within {START_TIMEOUT:.0f}s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tracker_config(self, **overrides: Any) -> TrackerConfig:
        values: dict[str, Any] = {
            "kind": "redmine",
            "url": self.url,
            "project": "acme",
            "secret": Secret(key="projects[0].tracker.token", value=API_KEY),
            "poll_interval": 60.0,
            "timeout": 30.0,
        }
        values.update(overrides)
        return TrackerConfig(**values)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One REST call as the team's own tools make it (the admin's API key)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"X-Redmine-API-Key": API_KEY, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
        return json.loads(raw) if raw.strip() else None
