"""The parser stage: raw email bytes in, an immutable `Message` out."""

from mailbot.parse.parser import parse_bytes
from mailbot.parse.quotes import new_text

__all__ = ["new_text", "parse_bytes"]
