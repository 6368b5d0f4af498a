"""Triage: classify a client mail as issue, change_request, feedback or none (noise).

from mailbot.triage import Triage, Verdict
triage = Triage.load()                  # bundled rules/ and models/triage/
verdict = triage.classify(message)      # a mailbot.message.Message
"""

from mailbot.triage.triage import Triage
from mailbot.triage.verdict import Verdict

__all__ = ["Triage", "Verdict"]
