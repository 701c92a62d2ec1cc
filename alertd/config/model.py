"""The configuration's typed model: one frozen dataclass per section, with its defaults.

Values here are already checked and typed; reading them from TOML, the environment and the
command line is the loader's work (``alertd.config.load``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from alertd.config.gateways import GatewayConfig

LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


def default_data_dir() -> Path:
    """Per-user folder for the embedded PostgreSQL (e.g. ~/.local/share/alertd/postgres)."""
    return Path(platformdirs.user_data_dir("alertd")) / "postgres"


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    # The database used on the embedded server (with a URL, the URL names it): "alertd_demo"
    # reaches the demo's territory.
    name: str = "alertd"
    pool_min: int = 2
    pool_max: int = 10
    connect_timeout_s: float = 10.0
    migrate_on_start: bool = True


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"
    format: str = "auto"


@dataclass(frozen=True, slots=True)
class SubscribersConfig:
    default_region: str = "FR"
    import_batch_rows: int = 20_000
    import_workers: int = 2
    # Answers to residents' SMS keywords per rolling hour: to one number (an auto-responder
    # answering our answers stops getting them), and on behalf of one tenant (a flood of forged
    # senders costs at most this).
    keyword_replies_per_number: int = 4
    keyword_replies_per_tenant: int = 2000


# Metropolitan France and Corsica, generously: a zone entirely outside is a CRS mistake.
METROPOLE_EXTENT = (-5.5, 41.0, 10.0, 51.5)


@dataclass(frozen=True, slots=True)
class ZonesConfig:
    # Deprecated, never set from a configuration file (refused there): postcode areas are the
    # tenant's data in the database (`alertd tenants import-territory`). Kept for the callers
    # that still pass it along; nothing reads it to find recipients.
    postcode_areas: str | None = None
    extent: tuple[float, float, float, float] = METROPOLE_EXTENT


@dataclass(frozen=True, slots=True)
class TemplatesConfig:
    # A folder of <lang>/<name>.txt maintained by the communications officer; None = shipped ones.
    directory: Path | None = None


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    batch: int = 1000  # deliveries claimed at once (fewer when a gateway is slow)
    lease_s: float = 60.0  # after this, a dead daemon's claims are taken back (in doubt)
    concurrency: int = 3  # batches in flight in one daemon
    retries_per_gateway: int = 3  # attempts before moving to the next gateway
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    # A life-safety delivery with no final receipt after this long is retried once through
    # another gateway (a phone off for longer may then get it twice: better than never); 0: never.
    receipt_timeout_s: float = 600.0


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    # The API token of the operator at this keyboard (`alertd operators add` shows it once);
    # every `alertd alert` command acts as them. Best given by the environment, never logged.
    token: str = field(default="", repr=False)
    # The API of an `alertd serve` (http://host:port; ALERTD_URL): when set, the duty officer's
    # commands go through it, and this workstation needs no database nor gateway secrets.
    url: str = ""


@dataclass(frozen=True, slots=True)
class ServeConfig:
    # host:port where `alertd serve` receives the gateways' webhooks (receipts, inbound SMS) at
    # /webhooks/<gateway name>/…; empty: no webhook server.
    webhook_listen: str = ""
    # host:port where `alertd serve` answers the HTTP API (/v1/…); empty: no API. A listener of
    # its own: the webhooks face the providers, the API faces operators and other systems.
    api_listen: str = ""
    # Requests a second per API token, sustained (bursts of five seconds' worth); beyond, 429.
    api_rate: float = 20.0
    # The daemon's public origin as the providers call it (https://alertd.example.org), when a
    # proxy stands in front: webhook signatures cover the URL the provider used.
    public_url: str = ""
    # host:port where `alertd serve` answers /healthz, /readyz and /metrics (Prometheus); empty:
    # not served.
    metrics_listen: str = ""
    # host:port of the residents' sign-up pages (alertd.web); empty: no pages. A listener of its
    # own: the public faces residents, through a reverse proxy; the API faces operators.
    signup_listen: str = ""
    # Processes answering the sign-up pages, all on signup_listen, off the daemon's event loop (a
    # sign-up rush must not starve alert dispatch); their codes go through the service SMS
    # queue. 1 on the two-core server PostgreSQL shares: measured as fast as 2 there (200
    # sign-ups a second offered, all served; 230-260 at most, the cores full either way), codes
    # sooner, and a rush takes one core from the daemon at most. More where PostgreSQL has cores
    # of its own. 0: the pages in the daemon's own loop.
    signup_workers: int = 1
    # Daemons sharing one database share each gateway's contract (rate, binds) by leases of this
    # length, renewed every third of it: a dead daemon's share is taken over within about
    # 1.3 times this; a daemon cut off from the database holds its gateways after it.
    share_lease_s: float = 3.0


@dataclass(frozen=True, slots=True)
class SignupConfig:
    """The sign-up pages' codes and abuse limits. Limits count codes asked for, per fixed hour,
    in PostgreSQL (so they hold across daemons)."""

    code_ttl_s: float = 600.0  # a code is good for 10 minutes
    code_tries: int = 5  # wrong tries before a code is dead
    per_number_hour: int = 5  # codes sent to one number in an hour
    per_ip_hour: int = 30  # codes asked from one address in an hour (a household, a desk)
    per_tenant_hour: int = 3000  # codes for one tenant's residents in an hour (SMS budget)
    session_s: float = 3600.0  # how long a confirmed code opens the "my subscription" page
    # Addresses of the reverse proxies whose X-Forwarded-For is believed (the client's address
    # for the per-IP limit); empty: the peer's address is the client's.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    subscribers: SubscribersConfig = field(default_factory=SubscribersConfig)
    zones: ZonesConfig = field(default_factory=ZonesConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    operator: OperatorConfig = field(default_factory=OperatorConfig)
    signup: SignupConfig = field(default_factory=SignupConfig)
    # The SMS gateways, by priority (see alertd/config/gateways.py and ops/alertd.example.toml).
    gateways: tuple[GatewayConfig, ...] = ()

    @property
    def embedded(self) -> bool:
        """True when alertd runs its own PostgreSQL (no DATABASE_URL given)."""
        return self.database.url is None
