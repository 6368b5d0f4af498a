"""mailbot: a shared client inbox, triaged, filed and acknowledged."""

__version__ = "0.1.0"
