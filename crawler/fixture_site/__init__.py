"""An offline copy of the five seed outlets' article pages, served on 127.0.0.1.

``FixtureSite`` is the WSGI application, ``serve()`` runs it in a background thread,
``SEEDS``/``local_url()``/``demo_manifest_toml()`` map the seeds' original URLs onto it.
Nothing here touches the network beyond the local socket.
"""

from __future__ import annotations

from .manifest import SEEDS, Seed, demo_manifest_toml, local_url
from .server import FixtureServer, serve
from .site import FixtureSite

__all__ = [
    "SEEDS",
    "FixtureServer",
    "FixtureSite",
    "Seed",
    "demo_manifest_toml",
    "local_url",
    "serve",
]
