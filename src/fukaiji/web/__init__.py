"""The web layer: JSON API, HTML pages and their templates. Thin: parse, call a service, render."""

from fukaiji.web.app import create_app

__all__ = ["create_app"]
