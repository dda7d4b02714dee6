"""The ``fukaiji`` command (Typer). One module per area; each only parses, calls a service, prints.

This is a package rather than the single ``cli.py`` of DESIGN.md §3 only so that each area's
commands stay short and separately readable; nothing imports it but the console script.
"""

from fukaiji.cli._root import app
from fukaiji.cli.cards import cards_app
from fukaiji.cli.demo import demo_app
from fukaiji.cli.institutions import institutions_app
from fukaiji.cli.jpki import jpki_app
from fukaiji.cli.linkage import linkage_app
from fukaiji.cli.notices import notices_app
from fukaiji.cli.portal import portal_app
from fukaiji.cli.protection import protection_app
from fukaiji.cli.residents import residents_app
from fukaiji.cli.staff import apikey_app, staff_app

app.add_typer(institutions_app, name="institutions")
app.add_typer(staff_app, name="staff")
app.add_typer(apikey_app, name="apikey")
app.add_typer(residents_app, name="residents")
app.add_typer(jpki_app, name="jpki")
app.add_typer(cards_app, name="cards")
app.add_typer(linkage_app, name="linkage")
app.add_typer(portal_app, name="portal")
app.add_typer(notices_app, name="notices")
app.add_typer(protection_app, name="protection")
app.add_typer(demo_app, name="demo")

__all__ = ["app"]
