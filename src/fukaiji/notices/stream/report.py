"""What a screen reports, and its refusal in strict mode."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fukaiji.intermediate.addressee_files import (
    Encoding,
    InvalidAddresseeFile,
    RowFault,
    summarise_faults,
)

MAX_FAULTS = 10_000

# Predicate over int64 addressee numbers: True where the institution assigned the number.
KnownNumbers = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ScreenReport:
    encoding: Encoding
    rows: int  # records with data: kept + removed + fault_count (blank records are not rows)
    kept: int
    removed: int  # on the exclusion list
    removed_rows: array  # array('q'): the row numbers of the removed rows, ascending
    faults: list[RowFault]  # the first ``max_faults`` bad rows, in row order
    fault_count: int
    seconds: float
    passes: int = 1  # 2 when duplicates made a second pass necessary
    bytes_read: int = 0
    blank_records: int = 0  # records whose cells are all blank: skipped, not copied

    def __post_init__(self) -> None:
        if self.rows != self.kept + self.removed + self.fault_count:
            raise ValueError("rows must be kept + removed + fault_count")


class ScreenRejected(InvalidAddresseeFile):
    """Strict mode: the file had bad rows, so nothing was written. ``faults`` lists the first
    ``max_faults`` of them in row order, ``fault_count`` counts them all; ``report`` tells the
    rest."""

    def __init__(self, report: ScreenReport) -> None:
        count = report.fault_count
        super().__init__(
            f"{count} 行に誤りがあるため、ファイル全体を受け付けませんでした"
            "（何も書き出していません） "
            f"(strict mode: {count} bad rows, nothing written): {summarise_faults(report.faults)}"
        )
        self.report = report
        self.faults = tuple(report.faults)
        self.fault_count = count
