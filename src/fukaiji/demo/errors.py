"""Refusals of the demonstration world."""

from __future__ import annotations

from fukaiji.config import Settings
from fukaiji.demo.cast import DEMO_USERNAMES
from fukaiji.errors import DomainError


class DemoError(DomainError):
    pass


class DemoInProduction(DemoError):
    """Demo accounts have a published password: a production system must never hold them."""

    def __init__(self) -> None:
        super().__init__(
            "FUKAIJI_ENV",
            "本番環境ではデモの世界を使えません"
            " (the demo world is refused when FUKAIJI_ENV=production)",
        )


class DemoWorldExists(DemoError):
    """Loading twice would duplicate the residents; the card tokens of the first load are not
    stored anywhere (only their hashes are), so the world cannot be handed back either."""

    def __init__(self) -> None:
        super().__init__(
            "demo",
            "デモの世界は既に読み込まれています。やり直すには新しいデータベースを使ってください"
            " (the demo world is already loaded; start again on a fresh database)",
        )


class NotADemoAccount(DemoError):
    def __init__(self, username: str) -> None:
        super().__init__(
            "username",
            f"{username}: デモの職員ではありません (not a demo staff account);"
            f" 次のいずれか (one of): {', '.join(DEMO_USERNAMES)}",
        )


class PendingSendJob(DemoError):
    """The demo sends its notice itself, in the caller's transaction; another institution's
    unfinished job would be taken over instead of it."""

    def __init__(self) -> None:
        super().__init__(
            "notices",
            "未完了の送信ジョブがあるため、デモのお知らせを送信できません"
            " (another send job is unfinished; load the demo world on a fresh database)",
        )


def refuse_production(settings: Settings) -> None:
    if settings.env == "production":
        raise DemoInProduction()
