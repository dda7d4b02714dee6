"""Screen a destination file (宛先ファイル) of any size against the exclusion list, as a stream.

``screen_file`` copies a CSV file of 団体内統合宛名番号 to a new file without the rows whose
number is on the exclusion list and without the rows it cannot screen (bad rows), and reports
every removed row and every bad row by its row number. Pure: files in, a file out; the database
is reached, if at all, through the ``known`` predicate the caller passes.

**The data is never decoded.** The screen works on the file's bytes. That is safe for the three
encodings a destination file comes in (UTF-8, UTF-8 with a BOM, CP932): in UTF-8 every byte of a
multibyte character is >= 0x80, and in CP932 the second byte of a double-byte character is
>= 0x40, so the bytes that carry the CSV structure (``,`` ``"`` CR LF, all < 0x40) and the ASCII
digits (0x30-0x39) never occur inside a Japanese character. A kept row is written out as the
very bytes read, Japanese columns included, whatever the encoding: nothing is decoded and encoded
again, so nothing can be lost or normalised. Only the header and the rare rows that need the slow
path below are decoded (strictly, in the file's encoding): a byte of the header that does not
decode refuses the file, one of a decoded row makes that row a bad row, as the small-file reader
says. The other columns of the other rows are copied without being interpreted (checking every
byte would cost more than the whole screen), so a stray byte there cannot change who is
screened out. The encoding is stated or detected from the first MiB as ``detect_encoding`` does:
the encoding in which the header names the column decides, so a broken byte in a row below
neither refuses the file nor flips the choice.

The rules are those of ``fukaiji.intermediate.addressee_files`` (the small-file reader), whose
fault texts this module reuses, so the two report the same faults the same way: the header is
the first non-blank record and names the column 団体内統合宛名番号; a row's number is its cell
with surrounding whitespace trimmed, and must be 15 ASCII digits; a record's row number is the
physical line it starts on, the header line counting as 1 (line ends CRLF, LF or a lone CR, as
Python's universal newlines split them); each bad row gets the first of: a byte that does not
decode (only seen in decoded rows), column count differs from the header, empty, contains
non-digits, not 15 digits, duplicate of an earlier good row (the later one is the bad row,
naming the first) and, when ``known`` is given, not a number of this
institution. Records whose cells are all blank carry no person: they are neither rows nor
faults and are skipped, not copied (counted in ``blank_records``), as the small-file reader
skips them. The header (with its BOM and any blank lines before it) and
the line ends are copied as they are.

How a chunk is read (numpy, vectorised; ``chunk_bytes`` at a time, cut after the last line end):

* one comparison (``byte < 0x2D``) and one ``nonzero`` find every LF, CR, ``,``, ``"`` and NUL
  (and the rarer space, tab and ``!``-``+``, dropped at once). When every line of the chunk is
  the header's number of commas and a line end, the positions reshape into one row per line,
  which gives each line's start, end and the span of the addressee cell without per-line work;
* otherwise the positions are classified per line (commas per line, lone CRs, quotes), and the
  lines the fast path cannot take (a ``"`` in the line, a wrong column count, a cell that is not
  exactly 15 digits) go one record at a time through the ``csv`` module on their decoded text,
  fed line by line so that a quoted cell may span lines, and chunks, exactly as ``csv`` reads it;
* the 15 digit bytes of each cell are gathered as two 64-bit words, checked and turned into an
  int64 with SWAR arithmetic (eight digits by three multiply-and-shift steps);
* exclusion: a hash-indexed byte table of the excluded numbers (about 32 slots a number) rejects
  almost every row with one lookup; the candidates are checked exactly with ``np.searchsorted``
  in the sorted exclusion array;
* the output is the chunk minus the removed lines, written with ``os.writev`` as slices of the
  very buffer read.

Chunks are scanned by ``workers`` threads (numpy releases the GIL), then settled in file order on
the calling thread (row numbers, ``known``, duplicates, faults, tallies), and written by a writer
thread; at most ``workers + 3`` chunk buffers exist at a time.

Duplicates and unknown numbers, in bounded memory (``known``). A file of 10**8 distinct numbers
does not fit in 256 MiB as a set, so the first pass only records each good row's number (8
bytes, no row number): in memory up to ``key_memory`` bytes, beyond that spilled to up to 4096
partition files in ``temp_dir`` by a multiplicative hash of the number, so that equal numbers
share a partition. After the pass each partition is sorted and its neighbours compared, and,
when the known numbers come as a ``KnownNumberStream``, anti-joined with them (partitioned by
the same hash; see ``known``). The usual file, without repeats or unknown numbers, costs one sort
and no second pass. Otherwise the rows are found in further passes: with repeats, one pass
records each good row's (number, row) pair (12 bytes a row, 16 for files past 4 GiB; spilled
and sorted in the same way) and marks the later occurrences in a bitmap over the row numbers
(one bit a line); then the file is screened again, dropping and reporting the marked rows and
the rows of unknown numbers; the first pass's output is thrown away.

Peak memory is bounded whatever the size of the file: ``(workers + 3) * chunk_bytes`` of chunk
buffers; per scanning thread a mask of ``chunk_bytes`` and 8 bytes per structural byte found
(about 0.5 * ``chunk_bytes`` for a typical file, at most 8 *); ``key_memory`` (64 MiB, about 8
million rows before anything spills; a third of it for the pairs); the row bitmap (lines / 8 bytes,
only with duplicates); the exclusions (about 40 bytes a number), the unknown numbers (8 bytes
each, at most ``known.MAX_UNKNOWN``) and the kept faults (``max_faults``). The temporary disk use
is 8 bytes a good row and 8 a known number, only past ``key_memory``.

Reported are all removed rows (``removed_rows``: an ``array('q')`` of row numbers, 8 bytes each,
bounded by the exclusion list since each number is removed at most once, later occurrences
being duplicates) and all faults by count, the first ``max_faults`` of them in full, in row order.

Writes are atomic: the output goes to a temporary file next to the destination (with the source
file's permissions), is fsynced, and is renamed into place only when the screen succeeded. In
strict mode any bad row refuses the whole file (``ScreenRejected``, listing the faults) and
nothing is written.

Slower but still correct: lines holding a ``"`` (a program that quotes every cell) go one by one
through ``csv``, at a few microseconds a line.

The parts: ``reading`` (encoding, header, chunks of whole lines, faults of the whole file),
``rows`` (scanning a chunk: spans, states and numbers of its lines), ``numbers`` (sets of
numbers), ``duplicates`` (later occurrences in bounded memory), ``passes`` (one pass over the
file), ``output`` (the writer and the atomic output file), ``report`` and ``screen`` (the public
functions).
"""

from fukaiji.notices.stream.known import KnownNumberStream
from fukaiji.notices.stream.reading import MAX_RECORD_BYTES
from fukaiji.notices.stream.report import MAX_FAULTS, KnownNumbers, ScreenRejected, ScreenReport
from fukaiji.notices.stream.screen import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_KEY_MEMORY,
    load_exclusions,
    screen_file,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_KEY_MEMORY",
    "MAX_FAULTS",
    "MAX_RECORD_BYTES",
    "KnownNumberStream",
    "KnownNumbers",
    "ScreenRejected",
    "ScreenReport",
    "load_exclusions",
    "screen_file",
]
