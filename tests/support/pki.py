"""Certificates made on the fly for DICOM TLS tests and benchmarks (the openssl command).

``make_pki(folder)`` makes a CA our nodes trust and another CA, and with them a server
certificate for 127.0.0.1 and localhost, an expired one, one for another host name, one signed
by the other CA, client certificates (two from our CA, one from the other), and a second
server certificate for 127.0.0.1 (a peer such as Orthanc). Each is valid for two days from
now (the expired one ended in 2021); keys are unencrypted RSA 2048 PEM.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA our nodes trust
    server_cert: Path  # for 127.0.0.1 and localhost
    server_key: Path
    expired_cert: Path
    expired_key: Path
    other_host_cert: Path  # for other.example only
    other_host_key: Path
    foreign_cert: Path  # for 127.0.0.1, signed by another CA
    foreign_key: Path
    client_cert: Path
    client_key: Path
    foreign_client_cert: Path  # a client certificate from the other CA
    foreign_client_key: Path
    second_client_cert: Path  # another client certificate from our CA
    second_client_key: Path
    peer_cert: Path  # another server certificate for 127.0.0.1 from our CA (a second peer)
    peer_key: Path

    def node_settings(self, tls_port: int) -> dict[str, object]:
        """Settings for our node's TLS port ``tls_port``: ``server_cert``, requiring a client
        certificate signed by ``ca``."""
        return {
            "tls_port": tls_port,
            "tls_cert_file": str(self.server_cert),
            "tls_key_file": str(self.server_key),
            "tls_ca_file": str(self.ca),
            "tls_require_client_cert": True,
        }


CA_CONFIG = """[ca]
default_ca = test
[test]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/new
serial = {dir}/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
"""


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """(certificate, key, openssl ca config) of a new CA in ``folder``/``name``."""
    home = folder / name
    (home / "new").mkdir(parents=True)
    (home / "index.txt").write_text("")
    (home / "serial").write_text("1000\n")
    config = home / "ca.cnf"
    config.write_text(CA_CONFIG.format(dir=home))
    cert, key = home / "ca.pem", home / "ca.key"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
        "-subj", f"/CN={name}", "-days", "3",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key, config


def issue(
    ca: tuple[Path, Path, Path],
    folder: Path,
    name: str,
    names: str,
    *,
    start: str = "",
    end: str = "",
) -> tuple[Path, Path]:
    """(certificate, key) for ``names`` (subjectAltName), signed by ``ca``."""
    ca_cert, ca_key, config = ca
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    ext = folder / f"{name}.ext"
    ext.write_text(
        f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", f"/CN={name}")  # fmt: skip
    dates = ["-startdate", start, "-enddate", end] if start else ["-days", "2"]
    openssl("ca", "-batch", "-notext", "-config", config, "-cert", ca_cert, "-keyfile", ca_key,
            "-in", csr, "-out", cert, "-extfile", ext, *dates)  # fmt: skip
    return cert, key


def make_pki(folder: Path) -> Pki:
    """Every certificate of ``Pki``, made in ``folder``."""
    ca = make_ca(folder, "Kiosk Test CA")
    other_ca = make_ca(folder, "Other CA")
    local = "IP:127.0.0.1,DNS:localhost"
    server = issue(ca, folder, "server", local)
    expired = issue(ca, folder, "expired", local, start="20200101000000Z", end="20210101000000Z")
    other_host = issue(ca, folder, "other-host", "DNS:other.example")
    foreign = issue(other_ca, folder, "foreign", local)
    client = issue(ca, folder, "client", "DNS:kiosk.client")
    foreign_client = issue(other_ca, folder, "foreign-client", "DNS:kiosk.client")
    second_client = issue(ca, folder, "second-client", "DNS:kiosk.client")
    peer = issue(ca, folder, "peer", local)
    return Pki(
        ca[0], *server, *expired, *other_host, *foreign, *client, *foreign_client,
        *second_client, *peer,
    )  # fmt: skip
