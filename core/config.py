"""Typed, frozen settings.

Precedence, lowest first: defaults, ``<data dir>/config.toml``, ``DICOM_KIOSK_*`` environment
variables, command-line flags. The data directory itself comes from ``--data-dir``,
``DICOM_KIOSK_DATA`` or ``$XDG_DATA_HOME/dicom-kiosk`` (else ``~/.local/share/dicom-kiosk``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from core.errors import ConfigError

DuplicatePolicy = Literal["keep", "replace"]
AcceptPolicy = Literal["any", "known"]
Theme = Literal["dark", "light"]

CONFIG_FILE_NAME = "config.toml"
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE: no backslash, no controls


@dataclass(frozen=True)
class Settings:
    """Everything the core needs to know about this installation."""

    data_dir: Path
    db_url: str = ""
    ae_title: str = "KIOSK"
    port: int = 11112
    bind: str = "0.0.0.0"
    duplicate_policy: DuplicatePolicy = "keep"
    max_store_bytes: int = 0  # 0 = only the disk limits the store
    fsync: bool = True
    accept_policy: AcceptPolicy = "any"
    network_timeout: int = 60  # seconds a peer may stay silent before its association is aborted
    # The node on a hostile network (README, "Limits"): seconds from accept to a complete
    # A-ASSOCIATE-RQ (PS3.8 ARTIM); TCP connections in all and per peer address, including
    # those not associated yet; established associations; the largest data set a C-STORE may
    # carry; received bytes held in memory across all associations (beyond it, and for any
    # data set over receive_spool_bytes, data sets go to disk as they arrive).
    artim_timeout: float = 5.0
    max_connections: int = 512
    max_connections_per_peer: int = 16
    max_associations: int = 32
    max_dataset_bytes: int = 2 << 30
    receive_memory_bytes: int = 256 << 20
    receive_spool_bytes: int = 32 << 20
    theme: Theme = "dark"
    # Make the thumbnails of arriving images once the intake has been idle a moment (in the
    # background, at low priority), so the Database tab shows them without waiting.
    thumbnails_on_arrival: bool = True
    virtual_keyboard: bool = True
    # Query/Retrieve options (the Query tab's Options): stop a study query after this many
    # matches (0: no limit), append * to patient name and ID, open the viewer after a retrieve;
    # the remote node last chosen on the Query tab ("": the first one).
    qr_max_results: int = 100
    qr_append_wildcard: bool = True
    qr_auto_load: bool = False
    qr_server: str = ""
    # Send queue: transfers sent at once (at most one per destination), how often a transfer
    # whose peer cannot be reached is retried, and the first retry's delay in seconds
    # (doubled for each further retry).
    send_parallel: int = 2
    send_retries: int = 3
    send_retry_delay: float = 5.0
    # Audit trail (README, "Audit trail"): forward every record to a syslog collector as
    # RFC 5424 messages carrying the PS3.15 A.5 XML, over TCP (octet counting), optionally TLS
    # (the collector's certificate checked against audit_syslog_ca_file, else the system CAs).
    # No host: records stay in the database only.
    audit_syslog_host: str = ""
    audit_syslog_port: int = 601
    audit_syslog_tls: bool = False
    audit_syslog_ca_file: str = ""
    # DICOM TLS (PS3.15 Annex B, BCP 195): the node also accepts TLS associations on tls_port
    # (0: off; 2762 by convention) with the same accept policy, showing tls_cert_file (its
    # key in tls_key_file, or in the certificate file). With tls_require_client_cert, a
    # client must show a certificate signed by tls_ca_file; without, a certificate it shows
    # is still verified against tls_ca_file when there is one.
    tls_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_file: str = ""
    tls_require_client_cert: bool = False
    # The kiosk lock (README, "Locking the kiosk"): with a PIN set (Settings), the screen locks
    # after this many seconds without a touch or key (0: never).
    lock_idle_seconds: int = 300

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_FILE_NAME

    def __post_init__(self) -> None:
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.data_dir / 'index.sqlite'}")
        _validate(self)


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "dicom-kiosk"


def _validate(s: Settings) -> None:
    if not _AE_RE.match(s.ae_title) or not s.ae_title.strip():
        raise ConfigError(
            f"AE title {s.ae_title!r} must be 1-16 printable characters, no backslash"
        )
    if not 0 < s.port < 65536:
        raise ConfigError(f"port {s.port} is outside 1-65535")
    try:
        ipaddress.ip_address(s.bind)
    except ValueError:
        raise ConfigError(
            f"bind address {s.bind!r} must be an IP address (0.0.0.0 listens on every network)"
        ) from None
    if s.qr_max_results < 0:
        raise ConfigError("qr_max_results cannot be negative")
    if s.network_timeout < 1:
        raise ConfigError("network_timeout must be at least 1 second")
    if s.artim_timeout <= 0:
        raise ConfigError("artim_timeout must be more than 0 seconds")
    for name in ("max_connections", "max_connections_per_peer", "max_associations"):
        if getattr(s, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    for name in ("max_dataset_bytes", "receive_memory_bytes", "receive_spool_bytes"):
        if getattr(s, name) < 1 << 20:
            raise ConfigError(f"{name} must be at least 1 MiB (1048576)")
    if s.max_store_bytes < 0 or s.lock_idle_seconds < 0:  # 0: no limit, never lock
        raise ConfigError("max_store_bytes and lock_idle_seconds cannot be negative")
    _validate_tls(s)
    if not 0 < s.audit_syslog_port < 65536:
        raise ConfigError(f"audit_syslog_port {s.audit_syslog_port} is outside 1-65535")
    if s.audit_syslog_ca_file and not Path(s.audit_syslog_ca_file).is_file():
        raise ConfigError(f"audit_syslog_ca_file {s.audit_syslog_ca_file!r} is not a file")
    if s.send_parallel < 1:
        raise ConfigError("send_parallel must be at least 1")
    if s.send_retries < 0 or s.send_retry_delay < 0:
        raise ConfigError("send_retries and send_retry_delay cannot be negative")
    for name in ("duplicate_policy", "accept_policy", "theme"):
        allowed = get_args(_FIELD_TYPES[name])
        if getattr(s, name) not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}")


def _validate_tls(s: Settings) -> None:
    if not 0 <= s.tls_port < 65536:
        raise ConfigError(f"tls_port {s.tls_port} is outside 1-65535 (0: no TLS port)")
    if s.tls_port and s.tls_port == s.port:
        raise ConfigError(f"tls_port and port cannot both be {s.port}")
    if not s.tls_port:
        return
    if not s.tls_cert_file:
        raise ConfigError("the TLS port needs the node's certificate (tls_cert_file)")
    if s.tls_require_client_cert and not s.tls_ca_file:
        raise ConfigError("tls_require_client_cert needs the CA file that signs them (tls_ca_file)")
    for name in ("tls_cert_file", "tls_key_file", "tls_ca_file"):
        value = getattr(s, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"{name} {value!r} is not a file")


_FIELD_TYPES: dict[str, Any] = {
    "duplicate_policy": DuplicatePolicy,
    "accept_policy": AcceptPolicy,
    "theme": Theme,
}
_SCALARS = {f.name: f for f in fields(Settings) if f.name != "data_dir"}


def _coerce(name: str, value: Any) -> Any:
    default = _SCALARS[name].default
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, int):
            return int(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}: {value!r} is not a valid value") from exc


def load_settings(
    data_dir: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build the settings from defaults, the config file, the environment and ``overrides``."""
    env = os.environ
    directory = Path(data_dir or env.get("DICOM_KIOSK_DATA") or default_data_dir()).expanduser()
    values: dict[str, Any] = {}
    config_file = directory / CONFIG_FILE_NAME
    if config_file.exists():
        try:
            parsed = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"cannot read {config_file}: {exc}") from exc
        for key, value in parsed.items():
            if key not in _SCALARS:
                raise ConfigError(f"{config_file}: unknown setting {key!r}")
            values[key] = _coerce(key, value)
    for key in _SCALARS:
        env_value = env.get(f"DICOM_KIOSK_{key.upper()}")
        if env_value is not None:
            values[key] = _coerce(key, env_value)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value)
    return Settings(data_dir=directory.resolve(), **values)


def save_settings(settings: Settings, **changes: Any) -> Settings:
    """Persist ``changes`` to the config file and return the new settings."""
    new = dataclasses.replace(settings, **{k: _coerce(k, v) for k, v in changes.items()})
    stored: dict[str, Any] = {}
    if settings.config_file.exists():
        stored = tomllib.loads(settings.config_file.read_text(encoding="utf-8"))
    stored.update({k: getattr(new, k) for k in changes})
    lines = [f"{key} = {_toml_value(value)}" for key, value in sorted(stored.items())]
    new.data_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.config_file.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(settings.config_file)
    return new


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
