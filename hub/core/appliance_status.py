"""What the operator page shows about the appliance: its Wi-Fi, the captive portal, the last
USB sticks, the weekly library check and the clock.

The raspberrypi/ scripts write small JSON files into `<data>/appliance/` (they run as the
hub's user); this module only reads them and never fails on a missing or broken one:

    usb.json     {"runs": [{"device", "label", "state", "message", "lines": [...],
                            "started", "finished", "safe_to_remove"}, ...]}   newest first
                 state: "running" | "done" | "nothing" | "failed"
    verify.json  {"finished", "ok": bool, "message", "damaged": [...]}
/run/learnhub/portal-state   "captive", "online" or "off" (written by learnhub-portal)
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.core.clock import HubClock
from hub.core.settings import CONFIG_FILE, Config

STATUS_DIR = "appliance"
USB_FILE = "usb.json"
VERIFY_FILE = "verify.json"
PORTAL_STATE = Path("/run/learnhub/portal-state")
SHOWN_USB_RUNS = 5
# raspberrypi/bin/learnhub-appliance's defaults, for a table that leaves them out.
DEFAULT_ADDRESS = "10.42.0.1"


@dataclass(frozen=True)
class Wifi:
    ssid: str
    open: bool
    address: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class ClockStatus:
    hub_time: str  # ISO 8601, UTC
    hub_time_ms: int
    wall_behind: int  # seconds the system clock is behind the hub's trusted time
    corrections: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ApplianceStatus:
    wifi: Wifi | None
    portal: str | None  # "captive", "online", "off" or None (not known here)
    usb_runs: list[dict[str, Any]]
    verify: dict[str, Any] | None
    clock: ClockStatus


def appliance_status(
    config: Config, clock: HubClock, portal_state: Path | None = None
) -> ApplianceStatus:
    folder = config.data_dir / STATUS_DIR
    usb = _read_json(folder / USB_FILE) or {}
    runs = usb.get("runs")
    runs = runs if isinstance(runs, list) else []
    return ApplianceStatus(
        wifi=_wifi(config.data_dir / CONFIG_FILE),
        portal=_portal(portal_state or PORTAL_STATE),
        usb_runs=[run for run in runs if isinstance(run, dict)][:SHOWN_USB_RUNS],
        verify=_read_json(folder / VERIFY_FILE),
        clock=_clock(clock),
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _wifi(config_file: Path) -> Wifi | None:
    """The [appliance] table of learnhub.toml (the installer writes it); None elsewhere."""
    try:
        table = tomllib.loads(config_file.read_text(encoding="utf-8")).get("appliance")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(table, dict) or table.get("wifi") is False:
        return None
    hostname = str(table.get("hostname") or "learnhub")
    return Wifi(
        ssid=str(table.get("ssid", "")),
        open=not table.get("password"),
        address=str(table.get("address") or DEFAULT_ADDRESS),
        names=(f"{hostname}.local", f"{hostname}.lan"),
    )


def _portal(path: Path) -> str | None:
    try:
        state = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return state if state in ("captive", "online", "off") else None


def _clock(clock: HubClock) -> ClockStatus:
    now = clock.now()
    return ClockStatus(
        hub_time=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        hub_time_ms=round(now * 1000),
        wall_behind=round(clock.behind()),
        corrections=clock.corrections(),
    )
