"""The base of every refusal by a domain service. Bottom layer: imports nothing of fukaiji.

Every error names the field (``field``, as an API or form calls the input) and says the fault and
the rule in ``message``, Japanese first and English in parentheses. ``keep_changes`` marks the
refusals that have already written something the caller must commit although the operation failed
(an audit entry of someone trying, a wrong-PIN counter). No message carries a secret or a 個人番号.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    keep_changes: ClassVar[bool] = False

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other arguments; rebuild from the finished parts so errors can be pickled
        # (they cross process boundaries in tests and workers).
        return _rebuild, (type(self), self.field, self.message, self.__dict__)


def _rebuild(
    cls: type[DomainError], field: str, message: str, state: dict[str, object]
) -> DomainError:
    error = cls.__new__(cls)
    DomainError.__init__(error, field, message)
    error.__dict__.update(state)
    return error
