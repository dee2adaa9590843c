"""Serving the benchmark site on 127.0.0.1: nginx if installed, else a threaded Python
server (keep-alive, HTTP/1.1). Either way as a child process, so the server's CPU is
not the crawler's. Nothing here imports Scrapy.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    types {{
        text/html html; text/css css; application/javascript js; text/plain txt;
        image/png png; image/jpeg jpg; font/woff2 woff2;
    }}
    default_type application/octet-stream;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ try_files $uri =404; }}
    }}
}}
"""

PY_SERVER = """\
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
handler = functools.partial(H, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


@dataclass
class Server:
    kind: str  # "nginx 1.22.1" or "python ThreadingHTTPServer"
    base_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
    return out.split("/", 1)[-1] if "/" in out else out


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path | None) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = log.read_text() if log and log.exists() else ""
            raise RuntimeError(f"the site server exited ({process.returncode}): {detail}")
        try:
            with urllib.request.urlopen(base_url + "/robots.txt", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the site server at {base_url} did not answer within 15 s")


def start_server(root: Path, work: Path, *, prefer: str = "auto") -> Server:
    """Serve `root`; `prefer` is auto, nginx or python."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
    if prefer == "nginx" and not nginx:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    work.mkdir(parents=True, exist_ok=True)
    if nginx and prefer != "python":
        for d in (root, *root.parents):  # the worker (user nobody) must read the site
            if d == Path("/") or d == Path("/tmp"):
                break
            d.chmod(0o755)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=work, port=port, root=root, user=user))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_until_up(base_url, proc, work / "error.log")
        return Server(f"nginx {nginx_version(nginx)} (1 worker)", base_url, proc)
    proc = subprocess.Popen([sys.executable, "-c", PY_SERVER, str(port), str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_up(base_url, proc, None)
    return Server("python http.server.ThreadingHTTPServer (HTTP/1.1)", base_url, proc)
