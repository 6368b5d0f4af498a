"""`mailbot web`: the PMs' workspace in the browser, over the same actions as the CLI."""
