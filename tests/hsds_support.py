"""Helpers for tests that send altered HSDS data packages (bad input, fuzzing)."""

from __future__ import annotations

import csv
import io
import zipfile


def with_cell(package: bytes, table: str, column: str, value: str, *, row: int = 0) -> bytes:
    """The zipped package with one cell of `table` (e.g. services.csv) replaced."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            data = source.read(name)
            if name == table:
                rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
                if rows:
                    rows[row % len(rows)][column] = value
                    text = io.StringIO()
                    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
                    data = text.getvalue().encode("utf-8", "surrogatepass")
            archive.writestr(name, data)
    return out.getvalue()
