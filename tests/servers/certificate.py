"""A throw-away TLS certificate for the test servers (Dovecot, the SMTP sink)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class CertificateError(RuntimeError):
    """openssl is missing or could not make the certificate."""


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 in `folder`: (cert.pem, key.pem)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError("openssl is needed to make the test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    # An EC key: generated in milliseconds, unlike RSA. SANs let clients verify 127.0.0.1.
    done = subprocess.run(
        [
            openssl, "req", "-x509", "-nodes",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        raise CertificateError(f"openssl could not make the test certificate:\n{done.stderr}")
    return cert, key
