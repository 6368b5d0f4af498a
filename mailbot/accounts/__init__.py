"""People who work the queue in the browser: accounts, roles, projects, sign-in and sessions."""
