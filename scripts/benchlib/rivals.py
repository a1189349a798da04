"""What a school could run instead, on the same content: nginx serving the lesson files and
the video as plain files, and kiwix-serve serving the lessons from a ZIM. Each is a process
on loopback the bench starts and stops; neither is installed by the bench."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from benchlib.server import HOST, HubServer, ServerError, get

NGINX_CONF = """\
daemon off;
worker_processes 1;
{user}
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    gzip on;
    keepalive_requests 1000000;
    server {{
        listen {host}:{port};
        root {root};
        location = /healthz {{ return 200 "ok"; }}
    }}
}}
"""


class RivalServer(HubServer):
    """Another server started the way the bench starts the hub: ready when `ready_path`
    answers 200; its memory is read the same way."""

    def __init__(self, argv: list[str], ready_path: str, workdir: Path, name: str) -> None:
        super().__init__(Path(argv[0]), workdir, workdir / f"{name}.log")
        self.argv, self.ready_path = argv, ready_path

    def command(self, port: int) -> list[str]:
        return [part.replace("{port}", str(port)) for part in self.argv]

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            name, status = Path(self.argv[0]).name, self.process.returncode
            if status < 0:  # the log of a crash is often only its start-up line
                raise ServerError(f"{name} crashed ({signal.Signals(-status).name})")
            raise ServerError(f"{name} exited with status {status}: {self.log_tail(2)}")

    def _wait_healthy(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            self.check_alive()
            try:
                if get(self.port, self.ready_path, timeout=2.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.argv[0]} did not answer {self.ready_path}: {self.log_tail()}")


class Nginx(RivalServer):
    def __init__(self, nginx: str, root: Path, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.root, self.workdir = root, workdir
        argv = [nginx, "-p", str(workdir), "-e", str(workdir / "error.log")]
        super().__init__(argv, "/healthz", workdir, "nginx")

    def command(self, port: int) -> list[str]:
        conf = self.workdir / "nginx.conf"
        # nginx's workers read the files as `user`; as root the cache is root's alone.
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(user=user, dir=self.workdir, host=HOST, port=port, root=self.root),
            encoding="utf-8",
        )
        return [*super().command(port), "-c", str(conf)]


def nginx(root: Path, workdir: Path) -> Nginx | None:
    # Debian puts nginx in /usr/sbin, which a user's PATH may lack.
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    return Nginx(found, root, workdir) if found else None


def kiwix_command() -> str | None:
    return shutil.which("kiwix-serve")


def kiwix(zim: Path, workdir: Path) -> RivalServer:
    """kiwix-serve on one ZIM; ready when its welcome page answers."""
    found = kiwix_command()
    if found is None:
        raise ServerError("kiwix-serve is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [found, "--address", HOST, "--port", "{port}", str(zim)]
    return RivalServer(argv, "/", workdir, "kiwix-serve")
