"""Whether a mail can be trusted: who really sent it, and whether it is spam or phishing."""
