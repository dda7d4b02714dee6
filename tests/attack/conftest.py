"""The web fixtures (an app client, staff logins) for the attacks played through the API."""

from tests.web.conftest import app_client, as_staff, client, make_staff  # noqa: F401
