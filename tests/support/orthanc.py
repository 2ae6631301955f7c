"""A private Orthanc (Debian's package) on loopback and free ports, with a small REST client.

Its storage and configuration live in ``folder`` (a temporary folder, removed on stop, when
none is given). Orthanc is linked with DCMTK, so it gets ``TCP_NODELAY=1`` too.

With ``tls`` (``OrthancTls``), its DICOM port speaks TLS only (``DicomTlsEnabled``, Orthanc
1.9.0 and later) with the given certificate, which it also shows as a client; a modality given
as a mapping with ``"UseDicomTls": True`` is reached over TLS.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.dcmtk import dcmtk_env
from tests.support.ports import HOST, free_port, port_open, wait_for
from tests.support.process import ServerProcess

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class OrthancTls:
    """Orthanc's DICOM TLS: its certificate and key (PEM), the certificates it trusts (the
    CAs of its peers, PEM), whether a peer calling it must show a client certificate."""

    certificate: Path
    private_key: Path
    trusted: Path
    remote_certificate_required: bool = True

    def config(self) -> dict[str, Any]:
        return {
            "DicomTlsEnabled": True,
            "DicomTlsCertificate": str(self.certificate),
            "DicomTlsPrivateKey": str(self.private_key),
            "DicomTlsTrustedCertificates": str(self.trusted),
            "DicomTlsRemoteCertificateRequired": self.remote_certificate_required,
        }


def orthanc_binary() -> str | None:
    """Where Orthanc is installed, or None."""
    path = Path("/usr/sbin/Orthanc")
    return str(path) if path.exists() else shutil.which("Orthanc")


class Orthanc(ServerProcess):
    """Orthanc with a generated configuration.

    ``modalities`` (name -> (AE title, host, port), or Orthanc's mapping form with "AET",
    "Host", "Port" and options such as "UseDicomTls") are the peers it may query, move to and
    store to; they can also be set on the attribute before ``start``. It accepts echo, store,
    find, get and move from any calling AE; with ``check_called_aet`` (the default) it
    refuses associations that call another AE title than ``ae_title``.

    Use as a context manager (``with Orthanc() as orthanc``) or ``start()``/``stop()``.
    """

    def __init__(
        self,
        folder: Path | None = None,
        *,
        ae_title: str = "ORTHANC",
        modalities: Mapping[str, Sequence[Any] | Mapping[str, Any]] | None = None,
        check_called_aet: bool = True,
        tls: OrthancTls | None = None,
    ) -> None:
        self._temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-orthanc-")) if folder is None else folder
        self.ae_title = ae_title
        self.modalities: Mapping[str, Sequence[Any] | Mapping[str, Any]] = dict(modalities or {})
        self.check_called_aet = check_called_aet
        self.tls = tls
        self.dicom_port = free_port()
        self.http_port = free_port()
        self.log_path = self.folder / "orthanc.log"

    def start(self) -> Orthanc:
        binary = orthanc_binary()
        if binary is None:
            raise AssertionError("Orthanc is not installed (make test installs it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "kiosk-test",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.ae_title,
            "DicomCheckCalledAet": self.check_called_aet,
            "HttpServerEnabled": True,
            "DicomServerEnabled": True,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomModalities": {
                name: dict(peer) if isinstance(peer, Mapping) else list(peer)
                for name, peer in self.modalities.items()
            },
            "Plugins": [],
            "ConcurrentJobs": 2,
            "StorageCompression": False,
            "SaveJobs": False,
            "StableAge": 1,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
        }
        if self.tls is not None:
            config.update(self.tls.config())
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        args = [binary, str(path)]
        self._spawn(args, self.http_port, env=dcmtk_env(), cwd=self.folder, timeout=START_TIMEOUT)
        try:
            wait_for(self._ready, START_TIMEOUT, "Orthanc to answer on HTTP and DICOM")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        process = self.process
        if process is not None and process.poll() is not None:
            raise AssertionError(f"Orthanc exited {process.returncode}:\n{self.log()[-3000:]}")
        try:
            self.get("/system")
        except OSError:
            return False
        return port_open(self.dicom_port)

    def __enter__(self) -> Orthanc:
        return self.start()

    def stop(self) -> None:
        super().stop()
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- REST ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call its REST API: ``body`` is sent as is when bytes, else as JSON."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://{HOST}:{self.http_port}{path}", data=data, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:  # say what Orthanc said, and what it logged
            detail = error.read().decode("utf-8", "replace")
            raise AssertionError(
                f"Orthanc answered {method} {path} with {error.code}: {detail}\n"
                f"its log ends:\n{self.log()[-3000:]}"
            ) from None
        return json.loads(payload) if payload else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def upload(self, data: bytes) -> Any:
        """Store a Part 10 file; returns Orthanc's answer (with the instance's ``ID``)."""
        return self.post("/instances", data)

    def set_default_encoding(self, encoding: str) -> None:
        """Its ``DefaultEncoding`` (``Latin1`` unless set; ``Utf8``...), changed at run time:
        the character set of its C-FIND answers."""
        url = f"http://{HOST}:{self.http_port}/tools/default-encoding"
        req = urllib.request.Request(url, data=encoding.encode(), method="PUT")
        with urllib.request.urlopen(req, timeout=30) as response:
            response.read()

    def count_instances(self) -> int:
        return int(self.get("/statistics")["CountInstances"])
