"""Finding hubs on the local network with mDNS/DNS-SD (zeroconf), and being found.

A hub announces two services: `_http._tcp` so phones, laptops and network tools list
"Learning Hub - <name>" (with an en dash), and `_learnhub._tcp`, whose TXT records tell other
hubs who it is (hub id, version, API path, packs, sharing). The advertiser is one background
thread started by `learnhub serve`: registering takes over a second of probing, a Pi often
starts before its Wi-Fi is up, and a hub with no network at all must keep serving.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Protocol

import ifaddr
from flask import Flask
from zeroconf import (
    IPVersion,
    ServiceInfo,
    ServiceListener,
    Zeroconf,
)

from hub import __version__
from hub.core.console import printable
from hub.core.db import connected
from hub.core.periodic import PeriodicWorker
from hub.core.translate import gettext
from hub.library.models import Pack

log = logging.getLogger(__name__)

HUB_TYPE = "_learnhub._tcp.local."
HTTP_TYPE = "_http._tcp.local."
API_PATH = "/api"
BRAND = "Learning Hub"
POLL_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 60.0
RESOLVE_MS = 1500
REGISTER_TIMEOUT_SECONDS = 30.0
# A DNS label holds 63 bytes; zeroconf appends "-2", "-3"... when a name is taken.
INSTANCE_MAX_BYTES = 56
TXT_NAME_MAX_BYTES = 120
_HUB_ID = re.compile(r"[a-z2-7]{20}")
_IFF_UP = 0x1
_WILDCARDS = ("", "0.0.0.0", "::")


class DiscoveryError(Exception):
    """Searching the network is impossible (no interface); str() is one sentence."""


# --- what a hub says about itself ---------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What the advertiser announces; the pack count is asked again on every poll."""

    hub_id: str
    name: str
    port: int
    host: str
    sharing: bool
    version: str = __version__


def clip(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore").strip()


def instance_names(hub_name: str) -> tuple[str, str]:
    """(the `_http._tcp` name, the `_learnhub._tcp` name) for a hub called `hub_name`."""
    name = " ".join(hub_name.split()) or BRAND
    # zeroconf writes names label by label at each dot: "St. Mary" would reach other
    # responders as two labels. A one-dot leader looks the same and stays one label.
    name = name.replace(".", "\u2024")
    web = name if name.lower().startswith(BRAND.lower()) else f"{BRAND} \u2013 {name}"
    return clip(web, INSTANCE_MAX_BYTES), clip(name, INSTANCE_MAX_BYTES)


def hub_txt(profile: Profile, packs: int) -> dict[str, str]:
    return {
        "txtvers": "1",
        "id": profile.hub_id,
        "name": clip(profile.name, TXT_NAME_MAX_BYTES),
        "version": profile.version,
        "api": API_PATH,
        "packs": str(packs),
        "share": "on" if profile.sharing else "off",
    }


def announced_addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce for a server listening on `host`: every non-loopback
    address of an interface that is up for a wildcard, else `host` itself once the machine
    has it (a hub bound to loopback is announced on loopback only)."""
    found = sorted(_machine_addresses(), key=lambda a: IPv4Address(a))
    if host in _WILDCARDS:
        return [a for a in found if not IPv4Address(a).is_loopback]
    return [host] if host in found else []


def _machine_addresses() -> set[str]:
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        if not _is_up(adapter.name):
            continue
        found.update(str(ip.ip) for ip in adapter.ips if ip.is_IPv4)
    return found


def one_per_interface(addresses: list[str]) -> list[str]:
    """The first of `addresses` on each interface: zeroconf opens a socket per address, and a
    second one on the same interface cannot join the multicast group again (it warns)."""
    interface_of = {
        str(ip.ip): adapter.name
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if ip.is_IPv4
    }
    chosen: dict[str, str] = {}
    for address in addresses:
        chosen.setdefault(interface_of.get(address, address), address)
    return list(chosen.values())


def _is_up(name: str) -> bool:
    """An interface taken down keeps its address; announcing it would reach nobody."""
    try:
        flags = int(Path(f"/sys/class/net/{name}/flags").read_text(), 16)
    except (OSError, ValueError):
        return True  # not Linux, or a sysfs of another namespace: trust the address
    return bool(flags & _IFF_UP)


# --- what other hubs say --------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    """Another hub seen on the network. Everything here comes from the network: untrusted."""

    name: str
    hub_id: str
    addresses: tuple[str, ...]
    port: int
    version: str
    packs: int | None
    sharing: bool
    api: str

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hub_id": self.hub_id,
            "address": self.address,
            "addresses": list(self.addresses),
            "port": self.port,
            "url": self.url,
            "version": self.version,
            "packs": self.packs,
            "sharing": self.sharing,
            "api": self.api,
        }

    @classmethod
    def from_info(cls, info: ServiceInfo) -> Neighbour | None:
        """None when the record is not a usable hub announcement."""
        txt = _decode_txt(info.properties or {})
        addresses = tuple(info.parsed_addresses(IPVersion.V4Only))
        hub_id = txt.get("id", "")
        if not (addresses and info.port and _HUB_ID.fullmatch(hub_id)):
            return None
        packs = txt.get("packs", "")
        return cls(
            name=_printable(txt.get("name") or info.name.removesuffix("." + info.type)),
            hub_id=hub_id,
            addresses=addresses,
            port=info.port,
            version=_printable(txt.get("version", ""))[:32],
            packs=int(packs) if packs.isdigit() and len(packs) < 10 else None,
            sharing=txt.get("share") == "on",
            api=_printable(txt.get("api", API_PATH))[:64],
        )


def _decode_txt(properties: dict[bytes, bytes | None]) -> dict[str, str]:
    return {
        key.decode("utf-8", "replace")[:32]: (value or b"").decode("utf-8", "replace")[:255]
        for key, value in properties.items()
    }


def _printable(text: str) -> str:
    """Controls and bidi overrides shown escaped (not dropped: an odd name should look odd);
    other unprintable characters (unassigned, private use) dropped."""
    shown = printable(text)
    return "".join(c for c in shown if c.isprintable())[:TXT_NAME_MAX_BYTES]


class NeighbourCache(ServiceListener):
    """Keeps the hubs a ServiceBrowser reports, resolved, by service name."""

    def __init__(self, own_hub_id: str | None = None) -> None:
        self._own = own_hub_id
        self._found: dict[str, Neighbour] = {}
        self._lock = threading.Lock()

    def neighbours(self) -> list[Neighbour]:
        with self._lock:
            found = list(self._found.values())
        return sorted(found, key=lambda n: (n.name.lower(), n.hub_id))

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        info = zc.get_service_info(type_, name, timeout=RESOLVE_MS)
        neighbour = Neighbour.from_info(info) if info else None
        with self._lock:
            if neighbour is None or neighbour.hub_id == self._own:
                self._found.pop(name, None)
            else:
                self._found[name] = neighbour

    update_service = add_service

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self._lock:
            self._found.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


def browse(
    timeout: float = 3.0,
    *,
    interfaces: list[str] | None = None,
    own_hub_id: str | None = None,
) -> list[Neighbour]:
    """The hubs that answer within `timeout` seconds, listening on `interfaces` (default:
    every interface of this machine, loopback included). Raises DiscoveryError."""
    if interfaces is None:
        interfaces = one_per_interface(sorted(_machine_addresses()))
    if not interfaces:
        raise DiscoveryError(
            gettext("This machine is not connected to a network, so there is no hub to find.")
        )
    try:
        zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    except (OSError, RuntimeError) as err:
        raise DiscoveryError(
            gettext("Cannot listen on this machine's network: %(error)s.", error=err)
        ) from None
    try:
        cache = NeighbourCache(own_hub_id)
        zc.add_service_listener(HUB_TYPE, cache)
        time.sleep(timeout)
        return cache.neighbours()
    finally:
        zc.close()


# --- the advertiser -------------------------------------------------------------------------


class Responder(Protocol):
    """What the advertiser asks of zeroconf (tests give a fake)."""

    def register(self, infos: list[ServiceInfo]) -> None: ...
    def update(self, info: ServiceInfo) -> None: ...
    def update_interfaces(self, addresses: list[str]) -> None: ...
    def browse(self, type_: str, listener: ServiceListener) -> None: ...
    def close(self) -> None: ...


class ZeroconfResponder:
    """zeroconf on the given addresses. Services are probed side by side: one by one, two
    took over 3 s, and a hub stopped meanwhile waits for them before it can say goodbye."""

    def __init__(self, addresses: list[str]) -> None:
        sockets = one_per_interface(addresses)
        self.zc = Zeroconf(interfaces=sockets, ip_version=IPVersion.V4Only)

    def register(self, infos: list[ServiceInfo]) -> None:
        assert self.zc.loop is not None
        done = asyncio.run_coroutine_threadsafe(self._register(infos), self.zc.loop)
        done.result(REGISTER_TIMEOUT_SECONDS)

    async def _register(self, infos: list[ServiceInfo]) -> None:
        register = self.zc.async_register_service
        announcing = await asyncio.gather(*(register(i, allow_name_change=True) for i in infos))
        await asyncio.gather(*announcing)

    def update(self, info: ServiceInfo) -> None:
        self.zc.update_service(info)

    def update_interfaces(self, addresses: list[str]) -> None:
        self.zc.update_interfaces(interfaces=one_per_interface(addresses))

    def browse(self, type_: str, listener: ServiceListener) -> None:
        self.zc.add_service_listener(type_, listener)

    def close(self) -> None:
        self.zc.close()  # sends the goodbye packets for every registered service


def count_packs() -> int:
    with connected():
        return Pack.select().count()


class Advertiser:
    """Announces the hub while it serves and keeps a cache of the other hubs it hears.

    Every `poll` seconds it looks at the machine's addresses (a cheap call): when they appear
    it registers, when they change it moves its sockets and records, when the pack count
    changes it updates the TXT record, when they vanish it withdraws and waits. A failure is
    logged and retried with a growing delay; it never stops the hub serving.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        packs: Callable[[], int] = count_packs,
        addresses: Callable[[str], list[str]] = announced_addresses,
        open_responder: Callable[[list[str]], Responder] = ZeroconfResponder,
        poll: float = POLL_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.profile = profile
        self._packs, self._addresses, self._open = packs, addresses, open_responder
        self.poll, self.max_backoff = poll, max_backoff
        self.cache = NeighbourCache(profile.hub_id)
        # Closes the responder on its own thread after the last round: goodbye packets.
        self.worker = PeriodicWorker(
            "learnhub-advertiser", self._round, self._delay, wait=wait, on_exit=self._close
        )
        self._zc: Responder | None = None
        self._infos: dict[str, ServiceInfo] = {}
        self._announced: tuple[list[str], dict[str, str]] | None = None
        self._state = "starting"
        self._last_packs = 0
        self.failures = 0

    # The public face: start, stop, what the operator page shows.

    def start(self) -> Advertiser:
        self.worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Withdraw the records (goodbye packets) and end the thread."""
        self.worker.stop(timeout)

    def neighbours(self) -> list[Neighbour]:
        return self.cache.neighbours() if self._zc is not None else []

    @property
    def state(self) -> str:
        """One of: starting, announced, no_network, retrying."""
        return self._state

    @property
    def names(self) -> list[str]:
        """The instance names actually announced (zeroconf renames on a clash)."""
        return [info.name.removesuffix("." + info.type) for info in self._infos.values()]

    @property
    def addresses(self) -> list[str]:
        return list(self._announced[0]) if self._announced else []

    # The thread.

    def _round(self) -> None:
        try:
            self._refresh()
            self.failures = 0
        except Exception as err:  # zeroconf fails in many ways; none may stop the hub
            # Caught here rather than by the worker: the failures set the backoff and the state.
            self.failures += 1
            self._state = "retrying"
            self._close()
            log.warning(
                "Cannot announce the hub on the network (%s); trying again in %.0f s.",
                err or type(err).__name__,
                self._delay(),
            )

    def _delay(self) -> float:
        if not self.failures:
            return self.poll
        return min(self.poll * 2 ** (self.failures - 1), self.max_backoff)

    def _refresh(self) -> None:
        addresses = self._addresses(self.profile.host)
        if not addresses:
            if self._zc is not None or self._state != "no_network":
                log.info("No network to announce the hub on; waiting for one.")
            self._close()
            self._state = "no_network"
            return
        txt = hub_txt(self.profile, self._pack_count())
        if self._zc is None:
            self._register(addresses, txt)
        elif self._announced != (addresses, txt):
            self._update(addresses, txt)

    def _pack_count(self) -> int:
        try:
            self._last_packs = self._packs()
        except Exception as err:  # a busy or broken database must not re-register the hub
            log.debug("counting packs failed: %s", err)
        return self._last_packs

    def _register(self, addresses: list[str], txt: dict[str, str]) -> None:
        self._zc = self._open(addresses)
        web_name, hub_name = instance_names(self.profile.name)
        self._infos = {
            HTTP_TYPE: self._info(HTTP_TYPE, f"{web_name}.{HTTP_TYPE}", addresses, {"path": "/"}),
            HUB_TYPE: self._info(HUB_TYPE, f"{hub_name}.{HUB_TYPE}", addresses, txt),
        }
        self._zc.register(list(self._infos.values()))
        self._zc.browse(HUB_TYPE, self.cache)
        self._announced = (addresses, txt)
        self._state = "announced"
        log.info(
            "Announced on the network as %s at %s.",
            " and ".join(repr(n) for n in self.names),
            ", ".join(addresses),
        )

    def _update(self, addresses: list[str], txt: dict[str, str]) -> None:
        assert self._zc is not None and self._announced is not None
        if addresses != self._announced[0]:
            log.info("The hub's addresses changed to %s; announcing again.", ", ".join(addresses))
            self._zc.update_interfaces(addresses)
        for type_, old in list(self._infos.items()):
            props = txt if type_ == HUB_TYPE else {"path": "/"}
            self._infos[type_] = self._info(type_, old.name, addresses, props)
            self._zc.update(self._infos[type_])
        self._announced = (addresses, txt)

    def _info(
        self, type_: str, name: str, addresses: list[str], properties: dict[str, str]
    ) -> ServiceInfo:
        return ServiceInfo(
            type_,
            name,
            parsed_addresses=addresses,
            port=self.profile.port,
            properties=properties,
            server=f"learnhub-{self.profile.hub_id[:12]}.local.",
        )

    def _close(self) -> None:
        zc, self._zc = self._zc, None
        self._infos, self._announced = {}, None
        self.cache.clear()
        if zc is None:
            return
        try:
            zc.close()
        except Exception as err:  # a vanished interface can fail the goodbyes; nothing to do
            log.debug("closing zeroconf failed: %s", err)


def start_advertiser(app: Flask) -> Advertiser | None:
    """Start announcing the hub `app` serves (None when the `advertise` setting is off); the
    operator's neighbours page then reads the hubs it hears from `app.extensions`."""
    config = app.config["LEARNHUB"]
    if not config.advertise:
        return None
    profile = Profile(
        hub_id=app.extensions["keys"].hub_id,
        name=config.hub_name,
        port=config.port,
        host=config.host,
        sharing=config.share_packs,
    )
    advertiser = Advertiser(profile).start()
    app.extensions["advertiser"] = advertiser
    return advertiser
