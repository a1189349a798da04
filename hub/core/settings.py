"""Every setting, declared once, and the layering that resolves them.

Order, lowest first: defaults < `learnhub.toml` in the data dir < `LEARNHUB_*` environment <
explicit overrides (CLI flags, test dicts). The data dir itself comes from `--data`, else
`LEARNHUB_DATA`, else a per-user directory.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from hub.core.translate import gettext, lazy_gettext
from sync.letters import MAX_AUDIO_BYTES, MAX_PHOTO_BYTES

CONFIG_FILE = "learnhub.toml"
# Tables of learnhub.toml that other programs read: [appliance] is the Raspberry Pi's Wi-Fi
# access point and names (raspberrypi/), in the same file so an operator edits one file.
OTHER_TABLES = frozenset({"appliance"})
ENV_PREFIX = "LEARNHUB_"

T = TypeVar("T", int, str, bool)


class SettingsError(Exception):
    """A setting has a value we cannot use; str() is one sentence."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    least: int | None = None
    most: int | None = None

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(text)


def setting(default: T, help: str, least: int | None = None, most: int | None = None) -> T:
    """One setting of Config: its default, the help the README repeats, and for a number the
    range it must lie in (both ends given), if any. Typed as its default, so mypy checks the
    default against the field's declared type."""
    return field(default=default, metadata={"help": help, "least": least, "most": most})


@dataclass(frozen=True)
class Config:
    """Resolved settings for one hub: a data dir plus every setting, each declared here once
    (name, type, default, help). SETTINGS below is read from these fields."""

    data_dir: Path
    host: str = setting("0.0.0.0", "Address the hub listens on (0.0.0.0 = every network).")
    port: int = setting(8080, "TCP port the hub listens on.")
    # 4: with the threads kept to one core (one_cpu) more of them only take turns. On the
    # school bench (2 cores, 32 clients, random lessons) 4 threads answered 1,745 req/s at
    # p95 43 ms, 8 threads 1,805 at 48 ms; each thread's database connection and buffers
    # cost about 0.75 MB (docs/search.md).
    threads: int = setting(4, "Worker threads that answer requests.")
    # hub/core/affinity.py: on 2 cores, random lesson pages 850-930 req/s instead of 370-490.
    one_cpu: bool = setting(
        True,
        "Run the server's threads on one CPU core: Python runs one thread at a time, and "
        "threads waiting for it on other cores slow it down.",
    )
    # One client must not shut the others out (hub/web/server.py): plain waitress held
    # 100 connections, and one phone holding them stopped the hub for two minutes.
    connection_limit: int = setting(
        400,
        "Most connections the server holds open at once (a class of 40 phones opens about "
        "240; a browser opens up to 6).",
    )
    connections_per_address: int = setting(
        64,
        "Most connections one address may hold open; more are closed at once. Raise it when "
        "many devices reach the server through one address (a NAT router, a proxy).",
    )
    header_timeout: int = setting(
        10,
        "Seconds a client has, from connecting or from the first byte of a request, to send "
        "all of that request's headers; slower connections are closed.",
    )
    idle_timeout: int = setting(
        20,
        "Seconds a connection may sit idle between requests, or in the middle of sending a "
        "body, before it is closed.",
    )
    send_timeout: int = setting(
        120,
        "Seconds an answer may wait for its client to read more of it (a paused video) before "
        "the connection is closed.",
    )
    max_body_bytes: int = setting(
        1024**2,
        "Largest request body (forms, JSON calls), in bytes; a larger one is refused (413) as "
        "soon as its headers arrive. The roster import and central's sync uploads have "
        "their own limits.",
    )
    # Central's own limits (`learnhub central serve` reads learnhub.toml in central's data
    # dir): its join and upload APIs are open to the internet, so no address or hub may fill them.
    central_hubs_waiting: int = setting(
        200,
        "Hubs that may wait for central staff's approval at once; further join requests are "
        "refused until staff review them (central).",
    )
    central_joins_per_hour: int = setting(
        5, "Join requests central takes from one address in an hour (central)."
    )
    central_uploads_per_hub: int = setting(
        4, "Uploads one hub may have open at central at once (central)."
    )
    central_upload_quota_bytes: int = setting(
        1024**3,
        "Bytes one hub's open uploads at central may add up to, by their announced sizes "
        "(central).",
    )
    central_terms: str = setting(
        "",
        "School terms outcomes are counted by, as 'name: YYYY-MM-DD..YYYY-MM-DD' separated by "
        "';' (at most 12); empty: calendar quarters (central).",
    )
    # About 4,000 kept lesson answers (1.8 KB each), far more pages than a class uses in a
    # day, on a 512 MB Pi as on a 1 GB one. The pool is always full after a busy day, so it
    # decides the hub's memory: 24 MiB left a hub serving a ZIM at 116 MB, 8 MiB at 96 MB
    # (docs/search.md). More keeps more of a big library's random pages (the school bench's
    # random lessons: 1,266 req/s with 8 MiB, 1,745 with 24 MiB).
    cache_bytes: int = setting(
        8 * 1024**2,
        "Memory the hub may use to keep rendered pages, lesson details and search results, "
        "in bytes.",
    )
    # Each worker thread keeps a connection to the database open. SQLite's default (2 MB of
    # pages each) filled under random lesson pages and held 12 MB more than 512 KiB did, at
    # the same pages per second: a lesson page reads a few index pages and rows, and the
    # kernel keeps the file's pages for every connection anyway.
    database_cache_bytes: int = setting(
        512 * 1024,
        "Memory each open connection to the hub's database (one per worker thread) may use to "
        "keep pages of the file, in bytes.",
        least=64 * 1024,
        most=1024**3,
    )
    # Searches read the index file through a few SQLite connections with small page caches
    # (hub/search/readers.py): memory stays the same whatever the library's size. Two: most of
    # a search is Python, which runs one thread at a time; more searches at once only took
    # turns (8 threads on 2 cores: 195-270 req/s with 4, 250-280 with 2).
    search_readers: int = setting(
        2, "Searches the hub runs at once; more wait for one of these to finish."
    )
    search_cache_bytes: int = setting(
        2 * 1024**2,
        "Memory each running search may use to keep pages of the search index, in bytes.",
    )
    search_word_memory: int = setting(
        30_000,
        "Words each language's search analyser remembers with their index terms (about 250 "
        "bytes each), so snippets and queries do not analyse them again.",
    )
    # An activity's page asks for dozens of files of its package; the zip's directory is read
    # once per package (a few hundred bytes per file: 16 packages of 1,000 files, about 3 MB).
    h5p_packages_kept: int = setting(
        16,
        "H5P packages whose list of files the hub keeps in memory while learners play them; "
        "others are read again when asked for.",
    )
    # Quoting a ZIM article in a result reads it, and libzim decompresses its whole cluster
    # to do so: 2.7 ms an article on the 2-core dev machine, holding the interpreter lock,
    # against 0.8 ms for the search itself (docs/search.md). Off unless a hub has CPU to spare.
    search_zim_snippets: int = setting(
        0,
        "ZIM articles on a page of search results that get a passage of their text (the first "
        "ones); the others show their title and library only.",
    )
    # libzim keeps decompressed clusters (about 2 MB of articles each) for the next article
    # in the same cluster. It counts a cluster by its compressed size and each kept cluster
    # also holds its decompressor: on the bench's ZIM, 16 MiB counted was 80 MB of memory,
    # 4 MiB was 20 MB (docs/search.md).
    zim_cluster_cache_bytes: int = setting(
        4 * 1024**2,
        "Compressed bytes of ZIM clusters libzim keeps decompressed for the next article read "
        "from them; the memory used is about five times this.",
    )
    # The hub decompresses zstd and xz clusters itself, off the interpreter lock (libzim holds
    # it): what it decompressed is kept, counted as the bytes themselves, for the next article
    # of the same cluster (about 2 MB of articles each, of which a read decompresses half on
    # average). Random reads over a large ZIM mostly miss whatever is kept: 4 MiB instead of 8
    # served the bench's random articles as fast, with 4 MB less (docs/search.md).
    zim_clusters_kept_bytes: int = setting(
        4 * 1024**2,
        "Bytes of decompressed ZIM clusters the hub keeps for the next article read from them.",
    )
    # A ZIM writer makes clusters of about 2 MB; a cluster claiming more than this is a damaged
    # or hostile file (a zstd or xz bomb) and its entries are refused, not decompressed.
    zim_cluster_max_bytes: int = setting(
        64 * 1024**2,
        "Largest decompressed size of one ZIM cluster the hub reads; entries of a larger one "
        "are refused as a damaged file.",
    )
    hub_name: str = setting("Learning Hub", "Name shown to students and on the network.")
    # A phone that says 2099 would date every event after it; two years covers a hub left
    # switched off for a long holiday (docs/operator-guide.md, "The clock").
    clock_max_ahead_days: int = setting(
        730,
        "Furthest, in days, a coach's or operator's device may move the hub's clock forward "
        "past the latest time the hub can vouch for.",
    )
    default_language: str = setting("en", "Language used when a browser asks for none we have.")
    # Sign-in guessing is slowed per client, never per account (docs/security.md): a 4-digit
    # PIN at 10 a minute takes a day to find from one phone, and nobody else is slowed.
    signin_tries_per_minute: int = setting(
        10,
        "Wrong PINs, passwords or setup codes one client (a browser, else an address) may "
        "try in a minute.",
    )
    signin_tries_per_address_minute: int = setting(
        30, "Wrong tries all the browsers at one address may make together in a minute."
    )
    throttle_clients: int = setting(
        4096, "Clients whose recent wrong tries the hub remembers (the oldest are forgotten first)."
    )
    load_samples: bool = setting(
        True, "Load the sample library on first run when the library is empty."
    )
    max_pack_bytes: int = setting(
        4 * 1024**3, "Largest unpacked size of one content pack, in bytes (zip-bomb guard)."
    )
    max_pack_ratio: int = setting(
        200, "Largest compression ratio accepted in a pack zip (zip-bomb guard)."
    )
    max_pack_files: int = setting(20000, "Most files one content pack may hold.")
    # Issue 16: packs made on the admin pages from uploads and the quiz editor.
    coaches_make_packs: bool = setting(
        False,
        "Let coaches make their own packs on the admin pages (upload files, write quizzes, "
        "publish), as operators can.",
    )
    draft_space_bytes: int = setting(
        8 * 1024**3,
        "Disk space, in bytes, that packs being made on the admin pages and their unfinished "
        "uploads may take together.",
    )
    form_upload_bytes: int = setting(
        512 * 1024**2,
        "Largest upload sent by a plain form (a browser without JavaScript), in bytes; with "
        "JavaScript files travel in resumable pieces, up to draft_space_bytes.",
    )
    jobs_waiting: int = setting(
        1,
        "Long jobs started from the admin pages (imports, verify, search rebuilds, copies from "
        "neighbours) that may wait behind the one running; more are refused until one ends.",
    )
    portal_host: str = setting(
        "",
        "The hub's own address on its Wi-Fi (e.g. 10.42.0.1); phones caught by the captive "
        "portal are sent there. Empty: the address the phone asked for.",
    )
    advertise: bool = setting(
        True,
        "Announce the hub on the local network (mDNS/DNS-SD) so devices and other hubs find it.",
    )
    share_packs: bool = setting(
        False, "Let other hubs on the local network copy this hub's content packs."
    )
    central_url: str = setting(
        "",
        "Address of the central server (http://...); when set, the hub syncs on its own "
        "whenever central can be reached.",
    )
    sync_bytes_per_second: int = setting(
        0, "Most bytes per second sync may send and receive (0 = no limit; for satellite links)."
    )
    sync_bytes_per_day: int = setting(
        0, "Most bytes sync may send and receive per day (0 = no limit)."
    )
    sync_interval: int = setting(
        900, "Seconds between automatic syncs; after a failure the hub retries sooner, backing off."
    )
    # What the hub downloads (central's answers, a neighbour's offers and files) is bounded:
    # a fake central's 400 MB answer once took a hub to 870 MB, a dripping neighbour held a
    # worker thread for good.
    download_json_bytes: int = setting(
        4 * 1024**2, "Largest JSON answer the hub reads from central or a neighbour hub, in bytes."
    )
    shared_pack_max_bytes: int = setting(
        200 * 1024**2,
        "Largest own pack a coach may share with other schools through central, in bytes "
        "(its files travel in the next bundle; central refuses more than 512 MiB).",
    )
    sync_reply_max_bytes: int = setting(
        4 * 1024**3,
        "Largest reply bundle (roster and content packs) the hub downloads from central, "
        "in bytes; it is written to disk as it arrives.",
    )
    download_seconds: int = setting(
        60,
        "Seconds any answer from central or a neighbour hub may take, plus the time its size "
        "needs at download_min_rate; a server that stalls or drips is cut off then.",
    )
    download_min_rate: int = setting(
        4096,
        "Slowest average speed, in bytes per second, a download or upload may keep before it "
        "is cut off (sync_bytes_per_second lowers it when smaller).",
    )
    # What this hub's learners may attach to a letter; the protocol's caps (sync/letters.py)
    # bound them, since central and the partner hub refuse anything larger.
    letter_photo_bytes: int = setting(
        MAX_PHOTO_BYTES,
        "Largest photo a learner may attach to a letter, in bytes (at most 3 MiB, what central "
        "and partner hubs accept).",
        least=1,
        most=MAX_PHOTO_BYTES,
    )
    letter_recording_bytes: int = setting(
        MAX_AUDIO_BYTES,
        "Largest recording a learner may attach to a letter, in bytes (at most 8 MiB, what "
        "central and partner hubs accept).",
        least=1,
        most=MAX_AUDIO_BYTES,
    )
    # A browser records speech at about 16 KB a second (Opus at Chromium's default bitrate):
    # 8 MiB is about 8 minutes, so 10 minutes is the most worth asking for.
    letter_recording_seconds: int = setting(
        120,
        "Longest recording, in seconds, the letters page makes in the browser (it also stops "
        "at letter_recording_bytes); at most 600.",
        least=1,
        most=600,
    )

    @property
    def db_path(self) -> Path:
        return self.data_dir / "learnhub.db"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret_key"


# How a value from the environment becomes a setting's type.
_PARSE: dict[type, Callable[[str], Any]] = {int: int, str: str, bool: _bool}

SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        f.name,
        f.default,
        f.metadata["help"],
        _PARSE[type(f.default)],
        f.metadata["least"],
        f.metadata["most"],
    )
    for f in fields(Config)
    if "help" in f.metadata
)

_BY_NAME = {s.name: s for s in SETTINGS}


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """`LEARNHUB_DATA`, else the XDG per-user data dir."""
    if environ.get(ENV_PREFIX + "DATA"):
        return Path(environ[ENV_PREFIX + "DATA"]).expanduser()
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "learnhub"


def load_config(
    data_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Resolve every setting through the layers; reading only, nothing is created."""
    env = os.environ if environ is None else environ
    data = Path(data_dir) if data_dir else default_data_dir(env)
    values = {s.name: s.default for s in SETTINGS}
    values.update(_from_file(data / CONFIG_FILE))
    values.update(_from_env(env))
    values.update(
        {k: _coerce(_setting(k), v) for k, v in (overrides or {}).items() if v is not None}
    )
    for setting in SETTINGS:
        _check_range(setting, values[setting.name])
    return Config(data_dir=data, **values)


def _check_range(setting: Setting, value: Any) -> None:
    if setting.least is None or setting.most is None:
        return
    if not setting.least <= value <= setting.most:
        raise SettingsError(
            gettext(
                "Setting %(name)s must be from %(least)s to %(most)s, got %(value)r.",
                name=setting.name,
                least=setting.least,
                most=setting.most,
                value=value,
            )
        )


def _setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SettingsError(gettext("Unknown setting %(name)r.", name=name)) from None


_KIND = {
    int: lazy_gettext("int (a whole number)"),
    bool: lazy_gettext("bool (true or false)"),
    str: lazy_gettext("str (text)"),
}


def _coerce(setting: Setting, value: Any) -> Any:
    expected = type(setting.default)
    if isinstance(value, str) and setting.parse is not str:
        try:
            return setting.parse(value.strip())
        except ValueError:
            pass
    elif isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise SettingsError(
        gettext(
            "Setting %(name)s must be %(kind)s, got %(value)r.",
            name=setting.name,
            kind=_KIND[expected],
            value=value,
        )
    )


def _from_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(
            gettext("%(path)s is not valid TOML: %(error)s.", path=path, error=err)
        ) from None
    return {
        name: _coerce(_setting(name), value)
        for name, value in doc.items()
        if name not in OTHER_TABLES
    }


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    found = {}
    for setting in SETTINGS:
        if setting.env_var in environ:
            found[setting.name] = _coerce(setting, environ[setting.env_var])
    return found
