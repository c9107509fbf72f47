"""The web consoles: agent console, supervisor wallboard, admin, REST API and WebSocket.

``make_web_app(deps)`` (in ``callcenter.web.app``) mounts every feature folder's route
table (``callcenter/<feature>/http.py``) behind one authentication and authorization
wrapper (``callcenter.web.endpoints``), serves the static consoles and ``/api/ws``.
"""

from .deps import WebDeps

__all__ = ["WebDeps", "make_web_app"]


def __getattr__(name: str):  # lazy: importing WebDeps must not import every feature
    if name == "make_web_app":
        from .app import make_web_app

        return make_web_app
    raise AttributeError(name)
