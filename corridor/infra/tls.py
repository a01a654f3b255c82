"""A local certificate authority and broker certificates, made with ``cryptography``.

Clients verify host names, so broker certificates carry the SANs ``localhost`` and
``127.0.0.1``. Private keys are unencrypted PKCS#8 PEM (what Kafka's PEM keystore takes)
written with 0600 permissions.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corridor.connection import write_secret_file

CA_VALIDITY = timedelta(days=825)
LEAF_VALIDITY = timedelta(days=397)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    broker_cert_chain: Path
    broker_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corridor local cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def ensure_tls(directory: Path, *, now: datetime | None = None) -> TlsFiles:
    """Make the CA and the broker certificate once; later calls reuse them."""
    files = TlsFiles(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        broker_cert_chain=directory / "broker-chain.pem",
        broker_key=directory / "broker.key",
    )
    if all(p.exists() for p in (files.ca_cert, files.ca_key, files.broker_cert_chain)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    issued = (now or datetime.now(UTC)) - timedelta(minutes=5)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Corridor local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued)
        .not_valid_after(issued + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued)
        .not_valid_after(issued + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    write_secret_file(files.ca_key, _key_pem(ca_key))
    write_secret_file(files.broker_key, _key_pem(leaf_key))
    # Kafka's PEM keystore wants the key and its chain in one file.
    write_secret_file(
        files.broker_cert_chain,
        _key_pem(leaf_key) + _cert_pem(leaf_cert) + _cert_pem(ca_cert),
    )
    files.ca_cert.write_text(_cert_pem(ca_cert), encoding="ascii")
    return files
