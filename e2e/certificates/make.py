"""Makes the e2e run's client certificates: for each name given, a fresh
RSA-2048 key and a self-signed certificate valid from a day ago for 30 days,
written as <name>-cert.pem (what the tenant registers, key_credentials) and
<name>-key.pem (PKCS#8, what the client signs with) in the folder given.

    python make.py <folder> <name>...

Run by e2e/run.sh with the venv's python (cryptography comes with msal) into
a temporary folder that run.sh deletes: no private key is ever committed.
"""

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def make(folder, name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rolegate e2e {name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    with open(os.path.join(folder, f"{name}-cert.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    key_path = os.path.join(folder, f"{name}-key.pem")
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    print(f"[e2e] certificate {name}: SHA-1 {cert.fingerprint(hashes.SHA1()).hex().upper()}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: make.py <folder> <name>...")
    for certificate in sys.argv[2:]:
        make(sys.argv[1], certificate)
