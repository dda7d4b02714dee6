"""The demonstration world (``fukaiji demo load``, ``fukaiji serve --demo``): a small world of
two prefectures, staff of every role, residents with cards, and the seed's ケース② waiting at
the consultation desk, so that a newcomer can walk the whole protection journey by clicking.

Above every domain package and below the CLI: it only calls their services.
"""

from fukaiji.demo.cast import DEMO_PASSWORD, DEMO_USERNAMES, StoryRole
from fukaiji.demo.errors import (
    DemoError,
    DemoInProduction,
    DemoWorldExists,
    NotADemoAccount,
    PendingSendJob,
)
from fukaiji.demo.totp import current_code, demo_totp_code, demo_totp_secret, seconds_left
from fukaiji.demo.world import (
    DemoResident,
    DemoStaff,
    DemoStory,
    DemoWorld,
    demo_world_loaded,
    existing_demo_staff,
    load_demo_world,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERNAMES",
    "DemoError",
    "DemoInProduction",
    "DemoResident",
    "DemoStaff",
    "DemoStory",
    "DemoWorld",
    "DemoWorldExists",
    "NotADemoAccount",
    "PendingSendJob",
    "StoryRole",
    "current_code",
    "demo_totp_code",
    "demo_totp_secret",
    "demo_world_loaded",
    "existing_demo_staff",
    "load_demo_world",
    "seconds_left",
]
