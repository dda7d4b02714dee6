"""識別番号の誤り (identifier errors).

Every fault carries the field, the value as given and a bilingual reason, so a desk, a batch
report and a log all say the same thing, e.g.
``個人番号 123456789012: 検査用数字は 8 のはずです (check digit should be 8)``.
"""

from __future__ import annotations


class InvalidIdentifier(ValueError):
    """不正な識別番号 (invalid identifier): a value that breaks the rule of its kind."""

    def __init__(self, field: str, value: str, fault_ja: str, fault_en: str) -> None:
        self.field = field
        self.value = value
        self.fault_ja = fault_ja
        self.fault_en = fault_en
        super().__init__(f"{field} {value}: {fault_ja} ({fault_en})")

    def __reduce__(self) -> tuple[type[InvalidIdentifier], tuple[str, str, str, str]]:
        # The default reduce would pass only the message back to __init__, so errors could not
        # cross a process boundary (worker pools, pickled batch reports).
        return type(self), (self.field, self.value, self.fault_ja, self.fault_en)


class UnknownLocalGovernment(InvalidIdentifier):
    """一覧にない地方公共団体コード (unknown local government code).

    Well-formed, with a correct check digit, but not in the shipped official list.
    """
