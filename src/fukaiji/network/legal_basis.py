"""法令根拠表 (legal basis table): which queries 番号法 別表第二 allows. Pure: no I/O except reading
the shipped file.

A row allows one combination of 情報照会者 (requester), 事務 (affair), 情報提供者 (provider) and
特定個人情報 (item). Requesters and providers are roles such as 市町村長 or 日本年金機構, not
concrete institutions; a role matches an institution by its kind and, where the row names one, its
exact code, an office (出先機関) by its body's code (see ``Party.matches`` and
``data/README.md``). A query is allowed if and only if at least one row matches it.

The file is parsed strictly: every fault of every row is reported with its row number, and a table
with any fault is refused as a whole. The shipped table is parsed once and kept in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

from fukaiji.network.errors import InvalidLegalBasisTable, LegalBasisFault
from fukaiji.network.models import InstitutionKind

SHIPPED_FILE = "legal_basis_sample.csv"
COLUMNS = (
    "entry",
    "requester_role",
    "requester_kind",
    "requester_code",
    "affair_code",
    "affair_name",
    "provider_role",
    "provider_kind",
    "provider_code",
    "item_code",
    "item_name",
)
AFFAIR_CODE = re.compile(r"JM[0-9]{14}")
ITEM_CODE = re.compile(r"TM[0-9]{14}")
_INSTITUTION_CODE = re.compile(r"[0-9A-Z]{4,16}")
_MAX_NAME = 200
RESIDENCE_ROLE = "住所地市町村長"


class InstitutionLike(Protocol):
    """What the table needs to know of an institution: its kind, its code and, for an office
    (出先機関), the code of its body."""

    @property
    def kind(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def body_code(self) -> str | None: ...


def acting_code(institution: InstitutionLike) -> str:
    """The code under which the table knows ``institution``: its body's for an office (a
    年金事務所 asks and answers as 日本年金機構), its own otherwise."""
    return institution.body_code or institution.code


@dataclass(frozen=True, slots=True)
class Party:
    """情報照会者 or 情報提供者 as the table names it: a role, matched by kind and optional code."""

    role: str
    kind: InstitutionKind
    code: str | None

    def matches(self, institution: InstitutionLike) -> bool:
        """True if ``institution`` acts in this role: same kind and, if the row names a code,
        that very institution or an office of it."""
        return institution.kind == self.kind and (
            self.code is None or acting_code(institution) == self.code
        )

    @property
    def is_residence(self) -> bool:
        """The role 住所地市町村長 is the municipality where the person lives now (it holds her
        住民票): the network routes such a query there itself and never tells the requester
        which one it was, so that nobody can probe one municipality after another."""
        return self.role == RESIDENCE_ROLE and self.kind is InstitutionKind.MUNICIPALITY

    def __str__(self) -> str:
        return self.role if self.code is None else f"{self.role} ({self.code})"


@dataclass(frozen=True, slots=True)
class LegalBasisRow:
    entry: int
    requester: Party
    affair_code: str
    affair_name: str
    provider: Party
    item_code: str
    item_name: str


class LegalBasisTable:
    """The parsed table, indexed by (事務, 特定個人情報) for lookups in constant time."""

    def __init__(self, rows: Iterable[LegalBasisRow]) -> None:
        self.rows: tuple[LegalBasisRow, ...] = tuple(rows)
        self._by_affair_item: dict[tuple[str, str], list[LegalBasisRow]] = {}
        for row in self.rows:
            self._by_affair_item.setdefault((row.affair_code, row.item_code), []).append(row)
        self._by_entry = {row.entry: row for row in self.rows}
        self._affairs = {row.affair_code: row.affair_name for row in self.rows}
        self._items = {row.item_code: row.item_name for row in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[LegalBasisRow]:
        return iter(self.rows)

    def find(
        self,
        requester: InstitutionLike,
        affair_code: str,
        provider: InstitutionLike,
        item_code: str,
    ) -> LegalBasisRow | None:
        """The first row that allows the query, or None."""
        for row in self._by_affair_item.get((affair_code, item_code), ()):
            if row.requester.matches(requester) and row.provider.matches(provider):
                return row
        return None

    def find_routed(
        self, requester: InstitutionLike, affair_code: str, item_code: str
    ) -> LegalBasisRow | None:
        """The first row that allows ``requester`` this query of the municipality of residence."""
        for row in self._by_affair_item.get((affair_code, item_code), ()):
            if row.requester.matches(requester) and row.provider.is_residence:
                return row
        return None

    def allowed_pairs(self, affair_code: str, item_code: str) -> tuple[str, ...]:
        """The requester→provider roles the table allows for one 事務 and 特定個人情報."""
        return tuple(
            f"{row.requester}→{row.provider}"
            for row in self._by_affair_item.get((affair_code, item_code), ())
        )

    def entry(self, number: int) -> LegalBasisRow | None:
        return self._by_entry.get(number)

    def affair_name(self, affair_code: str) -> str | None:
        return self._affairs.get(affair_code)

    def item_name(self, item_code: str) -> str | None:
        return self._items.get(item_code)

    def may_provide(self, provider: InstitutionLike, item_code: str) -> bool:
        """True if some row lets ``provider`` provide ``item_code``: it may hold a 副本 of it."""
        return any(
            row.provider.matches(provider)
            for (_, item), rows in self._by_affair_item.items()
            if item == item_code
            for row in rows
        )


@cache
def shipped_legal_basis() -> LegalBasisTable:
    """The sample table shipped in ``fukaiji/network/data``, parsed once per process."""
    text = resources.files("fukaiji.network").joinpath("data", SHIPPED_FILE).read_text("utf-8")
    return parse_legal_basis(text)


def parse_legal_basis(text: str) -> LegalBasisTable:
    """Parse a legal basis file; raise InvalidLegalBasisTable listing every fault if any."""
    parser = _Parser()
    rows = parser.parse(text.removeprefix("\ufeff"))
    if parser.faults:
        raise InvalidLegalBasisTable(parser.faults)
    return LegalBasisTable(rows)


class _Parser:
    def __init__(self) -> None:
        self.faults: list[LegalBasisFault] = []
        self._roles: dict[str, tuple[int, InstitutionKind | None, str | None]] = {}
        self._names: dict[tuple[str, str], tuple[int, str]] = {}
        self._combinations: dict[tuple[str, str, str, str], int] = {}
        self._entries: dict[int, int] = {}

    def fault(self, row: int, column: str, value: str, fault_ja: str, fault_en: str) -> None:
        self.faults.append(LegalBasisFault(row, column, value, fault_ja, fault_en))

    def parse(self, text: str) -> list[LegalBasisRow]:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader, None)
        except csv.Error as error:
            self.fault(1, "header", "", f"CSV として読めません: {error}", f"not valid CSV: {error}")
            return []
        if header is None:
            self.fault(1, "header", "", "ファイルが空です", "the file is empty")
            return []
        if tuple(header) != COLUMNS:
            self.fault(
                1,
                "header",
                ",".join(header),
                f"見出しは {','.join(COLUMNS)} のはずです",
                f"header should be {','.join(COLUMNS)}",
            )
            return []
        rows: list[LegalBasisRow] = []
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                self.fault(
                    reader.line_num,
                    "row",
                    "",
                    f"CSV として読めません: {error}",
                    f"bad CSV: {error}",
                )
                break
            row = self._row(reader.line_num, fields)
            if row is not None:
                rows.append(row)
        if not rows and not self.faults:
            self.fault(1, "rows", "", "行が 1 つもありません", "the table has no rows")
        return rows

    def _row(self, number: int, fields: list[str]) -> LegalBasisRow | None:
        if not fields:
            self.fault(number, "row", "", "空行です", "blank line")
            return None
        if len(fields) != len(COLUMNS):
            self.fault(
                number,
                "row",
                "",
                f"列が {len(COLUMNS)} 個のはずですが {len(fields)} 個です",
                f"should have {len(COLUMNS)} columns, not {len(fields)}",
            )
            return None
        values = dict(zip(COLUMNS, fields, strict=True))
        before = len(self.faults)
        for column, value in values.items():
            if value != value.strip():
                self.fault(
                    number, column, value, "前後に空白があります", "leading or trailing space"
                )
        entry = self._entry(number, values["entry"])
        requester = self._party(number, "requester", values)
        provider = self._party(number, "provider", values)
        affair_code = self._code(number, "affair_code", values["affair_code"], AFFAIR_CODE, "JM")
        item_code = self._code(number, "item_code", values["item_code"], ITEM_CODE, "TM")
        affair_name = self._name(number, "affair_name", values["affair_name"], affair_code)
        item_name = self._name(number, "item_name", values["item_name"], item_code)
        if len(self.faults) > before:
            return None
        assert entry is not None and requester is not None and provider is not None  # noqa: S101
        key = (values["requester_role"], affair_code, values["provider_role"], item_code)
        if key in self._combinations:
            self.fault(
                number,
                "row",
                "",
                f"{self._combinations[key]} 行目と同じ組合せです",
                f"same combination as row {self._combinations[key]}",
            )
            return None
        self._combinations[key] = number
        return LegalBasisRow(
            entry, requester, affair_code, affair_name, provider, item_code, item_name
        )

    def _entry(self, number: int, value: str) -> int | None:
        # Nine digits at most: int() of thousands of digits fails without naming the row.
        if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
            self.fault(
                number, "entry", value, "1 以上の整数のはずです", "should be a positive integer"
            )
            return None
        entry = int(value)
        if entry in self._entries:
            self.fault(
                number,
                "entry",
                value,
                f"{self._entries[entry]} 行目と番号が重複しています",
                f"duplicates the entry of row {self._entries[entry]}",
            )
            return None
        self._entries[entry] = number
        return entry

    def _party(self, number: int, side: str, values: dict[str, str]) -> Party | None:
        role, kind_text, code = (values[f"{side}_{part}"] for part in ("role", "kind", "code"))
        before = len(self.faults)
        if not role:
            self.fault(number, f"{side}_role", role, "空です", "is empty")
        kind: InstitutionKind | None = None
        try:
            kind = InstitutionKind(kind_text)
        except ValueError:
            known = ", ".join(kind.value for kind in InstitutionKind)
            self.fault(
                number,
                f"{side}_kind",
                kind_text,
                f"機関の種別は {known} のいずれかです",
                f"kind should be one of {known}",
            )
        if code and not _INSTITUTION_CODE.fullmatch(code):
            self.fault(
                number,
                f"{side}_code",
                code,
                "空欄か、英大文字・数字 4〜16 文字の機関コードのはずです",
                "should be blank or an institution code of 4-16 capitals and digits",
            )
        if len(self.faults) > before or kind is None:
            return None
        seen = self._roles.setdefault(role, (number, kind, code or None))
        if seen[1:] != (kind, code or None):
            self.fault(
                number,
                f"{side}_role",
                role,
                f"{seen[0]} 行目では同じ役割が別の種別・機関コードです",
                f"the same role has another kind or code in row {seen[0]}",
            )
            return None
        return Party(role, kind, code or None)

    def _code(
        self, number: int, column: str, value: str, pattern: re.Pattern[str], prefix: str
    ) -> str:
        if not pattern.fullmatch(value):
            self.fault(
                number,
                column,
                value,
                f"{prefix} に続けて 14 桁の数字のはずです",
                f"should be {prefix} followed by 14 digits",
            )
        return value

    def _name(self, number: int, column: str, value: str, code: str) -> str:
        if not value:
            self.fault(number, column, value, "空です", "is empty")
        elif len(value) > _MAX_NAME:
            self.fault(
                number,
                column,
                value[:20] + "…",
                f"{_MAX_NAME} 文字以内のはずです",
                f"should be at most {_MAX_NAME} characters",
            )
        else:
            seen = self._names.setdefault((column, code), (number, value))
            if seen[1] != value:
                self.fault(
                    number,
                    column,
                    value,
                    f"{seen[0]} 行目では同じコード {code} の名称が「{seen[1]}」です",
                    f"row {seen[0]} gives code {code} another name",
                )
        return value
