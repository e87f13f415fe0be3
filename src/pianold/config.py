"""One settings object, read from a TOML file and PIANOLD_* environment variables.

Precedence: explicit overrides (command-line options) > environment > file > defaults.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from pianold.resources import bundled_data_dir
from pianold.uris import DEFAULT_BASE, NOT_IN_IRIS, Uris, not_in_iri

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "PIANOLD_"
CONFIG_FILE = "pianold.toml"


class ConfigError(Exception):
    """A setting that cannot be used, with the place it came from."""


@dataclass(frozen=True)
class Settings:
    base: str = DEFAULT_BASE  # IRIs of published data start with it
    data_dir: Path = field(default_factory=bundled_data_dir)  # one folder per plan, each with plan.toml
    dist_dir: Path = Path("dist")  # built versions; dist/current is the published one
    keep_versions: int = 3  # older versions stay for in-flight requests, then are pruned
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 8  # WSGI server threads
    max_connections: int = 1000  # open client connections (slow ones included) before new ones wait
    cache_mb: int = 256  # memory for computed answers (documents, SPARQL results), each of the two caches; 0: none kept
    sparql_workers: int = 2  # query worker processes, and as many proven-small queries at once in server threads; SPARQL never takes more threads than twice these + 2 waiting
    sparql_timeout: float = 10.0  # seconds; a query running longer is stopped (its worker is killed)
    sparql_max_rows: int = 10000  # results (solutions or triples) beyond this are cut, with a note
    sparql_max_query_bytes: int = 65536  # a larger request is refused with 413
    sparql_max_answer_mb: int = 32  # a larger answer is refused with 422, however few its rows
    sparql_worker_memory_mb: int = 2048  # heap a query worker may take (RLIMIT_DATA); a query needing more is stopped (503)
    sparql_inline_budget: int = 10000  # a query whose solutions times its weighed length provably stay under this runs in a server thread, unstoppable (store/bounded.py; slowest found at 10000 by bench/inline_budget.py: 3.7 ms on Bari); 0: always a worker
    sparql_service_allowlist: tuple[str, ...] = ()  # SERVICE endpoints a query may call; none by default
    store_url: str | None = None  # a remote SPARQL 1.1 query endpoint instead of the embedded store
    store_gsp_url: str | None = None  # its Graph Store Protocol endpoint, to load it (`pianold push`)
    store_user: str | None = None  # the user `pianold push` authenticates as there (digest or basic); the password only from $PIANOLD_STORE_PASSWORD
    catalog_publisher: str | None = None  # IPA code of the plans' publisher that publishes the catalogue and the dataset of everything, when the plans have several
    combined_license: str | None = None  # the licence the dump of everything (all plans and the ontology) is offered under, when its parts' licences differ
    no_build: bool = False  # `pianold serve` serves what dist/ holds as it is, never building (a host serving a copied dist/)
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-Proto/-Host/-For are believed; 0: none (a client cannot pretend)

    @property
    def uris(self) -> Uris:
        return Uris(self.base)

    @property
    def sparql_max_answer_bytes(self) -> int:
        return self.sparql_max_answer_mb * 2 ** 20

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    if path is None and Path(CONFIG_FILE).is_file():
        path = Path(CONFIG_FILE)
    if path is not None:
        values.update(_from_file(Path(path)))
    known = {f.name: f for f in fields(Settings)}
    for name, f in known.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _convert(f, raw, f"environment variable {ENV_PREFIX}{name.upper()}")
    for name, value in overrides.items():
        if value is not None:
            values[name] = _convert(known[name], value, f"option {name}") if isinstance(value, str) else value
    settings = Settings(**values)
    _check(settings)
    return settings


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read configuration: {err}") from None
    data = data.get("pianold", data)
    known = {f.name: f for f in fields(Settings)}
    values = {}
    for key, value in data.items():
        if key == "store_password":  # a secret in a file that is copied, committed, shown
            raise ConfigError(f"{path}: store_password cannot be set in a file: give it in the environment variable "
                              f"{ENV_PREFIX}STORE_PASSWORD")
        if key not in known:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        values[key] = _convert(known[key], value, f"{path}: setting {key!r}")
    return values


def _convert(f: dataclasses.Field, value: Any, where: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError  # no silent truncation (8080.7 is no port)
            return int(value)
        if kind == "float":
            number = float(value) if not isinstance(value, bool) else math.nan
            if not math.isfinite(number):
                raise ValueError
            return number
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[str(value).lower()]
        if kind.startswith("tuple"):
            items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
            return tuple(str(v).strip() for v in items)
        if not isinstance(value, (str, Path)):
            raise ValueError  # a TOML number or list where text or a path is wanted
        if kind == "Path":
            return Path(value)
        if kind == "str | None":
            return str(value) if value not in (None, "") else None
        return str(value)
    except (ValueError, KeyError, TypeError):
        quotes = '; write it between quotes: "…"' if kind.startswith("str") and isinstance(value, (int, float)) else ""
        raise ConfigError(f"{where}: {value!r} is not a valid {kind.replace(' | None', '')}{quotes}") from None


_DOTTED = re.compile(r"[0-9.]+")  # looks like an IPv4 address, so it must be one (waitress takes names, `*`, [::1]…)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _check(settings: Settings) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(settings.base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"base must be an http(s) URL without query or fragment, not {settings.base!r}")
    if (bad := not_in_iri(settings.base)) is not None:  # every published IRI starts with it: the writers would refuse them all
        raise ConfigError(f"base must be an http(s) URL without {bad!r} (no spaces nor any of {NOT_IN_IRIS}), "
                          f"not {settings.base!r}")
    if settings.keep_versions < 1:
        raise ConfigError("keep_versions must be at least 1")
    if not 1 <= settings.port <= 65535:
        raise ConfigError(f"port must be between 1 and 65535, not {settings.port}")
    if not settings.host or any(c.isspace() for c in settings.host) or (_DOTTED.fullmatch(settings.host) and not _is_ip(settings.host)):
        raise ConfigError(f"host must be a host name or an IP address to listen on, not {settings.host!r}")
    if settings.workers < 1 or settings.max_connections < 1 or settings.sparql_max_query_bytes < 1:
        raise ConfigError("workers, max_connections and sparql_max_query_bytes must be at least 1")
    if settings.sparql_workers < 1 or settings.sparql_timeout <= 0 or settings.sparql_max_rows < 1 \
            or settings.sparql_max_answer_mb < 1:
        raise ConfigError("sparql_workers, sparql_timeout, sparql_max_rows and sparql_max_answer_mb must be positive")
    if settings.sparql_worker_memory_mb < 256:
        raise ConfigError("sparql_worker_memory_mb must be at least 256 (a worker holds about 100 MB before any query, and briefly nearly 200 MB while it opens the store)")
    if settings.cache_mb < 0:
        raise ConfigError("cache_mb must be 0 (keep no answers) or more")
    if settings.trusted_proxies < 0:
        raise ConfigError("trusted_proxies must be 0 (no proxy in front) or the number of proxies in front")
    if settings.sparql_inline_budget < 0:
        raise ConfigError("sparql_inline_budget must be 0 (every query in a worker) or more")
    for name in ("store_url", "store_gsp_url"):
        url = getattr(settings, name)
        # urllib would take `user:password@host` for the host name, and every message naming the
        # store would show the password: refused, and shown without it
        if url is not None and "@" in urlsplit(url).netloc:
            shown = urlsplit(url)._replace(netloc="…@" + urlsplit(url).netloc.rpartition("@")[2]).geturl()
            raise ConfigError(f"{name} {shown} holds a user or a password: give the store's address without them, "
                              f"the user as store_user ({ENV_PREFIX}STORE_USER, or push --user) and the password in "
                              f"{ENV_PREFIX}STORE_PASSWORD")
    for url in (settings.store_url, settings.store_gsp_url, settings.combined_license, *settings.sparql_service_allowlist):
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"{url!r} is not an http(s) URL")
        if url is not None and (bad := not_in_iri(url)) is not None:  # combined_license is published as an IRI
            raise ConfigError(f"{url!r} is not an http(s) URL: it holds {bad!r} (no spaces nor any of {NOT_IN_IRIS})")
