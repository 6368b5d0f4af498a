"""`mailbot init`: from nothing to a working installation, step by step.

`answers` holds what the admin said, `servers` talks to IMAP and SMTP as the
daemon will, `files` writes the config and the secrets; the questions
themselves are asked by `mailbot.cli.cmd_init`.
"""
