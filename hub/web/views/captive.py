"""Captive-portal probes: a phone that joins the hub's Wi-Fi shows its "sign in to network"
sheet, and the sheet opens the hub's home page.

Every phone and browser checks a new network by fetching a known URL over plain HTTP. While
the hub has no uplink, its DNS (raspberrypi/network/) answers every name with the hub's own
address, so these requests arrive here whatever host they name; with an uplink, DNS answers
truthfully and the real probes never reach the hub. A probe that does reach the hub therefore
means "captive", and the routes below answer every host the same way, the hub's own included.

What each platform expects when online, and why the answer here is a 302 to the hub's home
page with a small HTML body (and `Cache-Control: no-store`, so no device remembers it):

- Android and ChromeOS, `/generate_204` and `/gen_204` (connectivitycheck.gstatic.com,
  clients3.google.com, connect.rom.miui.com, ...): online is 204, and a 200 with an empty
  body counts as 204. A 3xx (or a 200 with a body) means "portal": the notification opens the
  sign-in screen, which follows the redirect. A 4xx or 5xx means "no internet" and shows no
  sign-in at all, so the answer is never an error and never empty.
- Apple (iOS, macOS), `/hotspot-detect.html` and `/library/test/success.html`
  (captive.apple.com and others): online is a page containing "Success". Anything else opens
  the captive network sheet at once, which follows the redirect; the body never says Success.
- Windows, `/connecttest.txt` (www.msftconnecttest.com) and `/ncsi.txt` (www.msftncsi.com):
  online is the exact text "Microsoft Connect Test" / "Microsoft NCSI". A redirect, together
  with dns.msftncsi.com resolving to 131.107.255.255 (the DNS config does that; a wrong
  address there means "no internet" instead), makes Windows open its browser at
  `/redirect`, which is sent to the home page too.
- Firefox, `/canonical.html` and `/success.txt` (detectportal.firefox.com): online is an
  exact body; anything else shows the "Open network login page" bar, whose tab follows the
  redirect.
- GNOME (NetworkManager), `/check_network_status.txt` (nmcheck.gnome.org): online is
  "NetworkManager is online"; anything else opens its portal window.

The hub never answers "online": that would tell phones they have the internet, close the
sign-in sheet at once, and send every app to a network that cannot reach it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

bp = Blueprint("captive", __name__)

PROBE_PATHS = {
    "/generate_204": "android",
    "/gen_204": "android",
    "/hotspot-detect.html": "apple",
    "/library/test/success.html": "apple",
    "/connecttest.txt": "windows",
    "/ncsi.txt": "windows",
    "/redirect": "windows",
    "/canonical.html": "firefox",
    "/success.txt": "firefox",
    "/check_network_status.txt": "gnome",
}


def portal_url() -> str:
    """Where a probe sends the phone: the hub's home on the hub's own address (setting
    `portal_host`), else on whatever host the probe named."""
    host = current_app.config["LEARNHUB"].portal_host
    home = url_for("pages.home")
    return f"http://{host}{home}" if host else home


def probe() -> ResponseReturnValue:
    target = portal_url()
    body = render_template("appliance/portal.html", target=target)
    response = redirect(target, 302)
    response.set_data(body)
    response.headers["Cache-Control"] = "no-store"
    return response


for _path, _platform in PROBE_PATHS.items():
    _name = _path.strip("/").replace("/", "_").replace(".", "_").replace("-", "_")
    bp.add_url_rule(_path, f"{_platform}_{_name}", probe, methods=["GET"])
