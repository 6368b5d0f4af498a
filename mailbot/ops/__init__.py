"""Operating mailbot: `mailbot doctor` and the daemon's heartbeats and health checks."""
