"""Prototype, not product code: how long Arrow takes to read and check a customers file.

The import's reading and column parsing cost 10-11 s of Python at a million rows
(README, "What a 1,000,000-row customers import costs"). This times the same kind of
work in C++ with pyarrow: reading the file as text columns, trimming every cell,
lower-casing and matching the emails, matching the ISO date and time patterns,
checking the text lengths, encoding the choices (gender, consent) to their few
distinct values, and writing the COPY text. It does not reproduce every rule of
``crm.importing.columns`` (the row parser stays the reference): it is the measure
behind the plan, run in a separate virtual environment, since pyarrow is no
dependency of the project (with pandas 3 it would also store every string column)::

    .venv/bin/python bench/import_customers.py --rows 1000000 --keep
    python3 -m venv /tmp/arrow && /tmp/arrow/bin/pip install pyarrow
    /tmp/arrow/bin/python bench/prototypes/arrow_parse.py bench/customers.csv [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

TEXT_LIMITS = {"external_id": 128, "name": 200, "city": 100, "country": 64,
               "consent_source": 100, "vip_level": 1000, "source": 1000}
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$"


def check(table: pa.Table) -> dict[str, pa.Array]:
    """Each column trimmed and checked; the COPY text of the times with the shop's offset."""
    out: dict[str, pa.Array] = {}
    for name in table.column_names:
        column = pc.utf8_trim_whitespace(table[name])
        empty = pc.equal(column, "")
        if name == "email":
            column = pc.utf8_lower(column)
            ok = pc.or_(empty, pc.match_substring_regex(column, EMAIL))
        elif name == "birth_date":
            ok = pc.or_(empty, pc.match_substring_regex(column, DATE))
        elif name in ("signed_up_at", "consent_at", "unsubscribed_at"):
            ok = pc.or_(empty, pc.match_substring_regex(column, DATETIME))
            column = pc.if_else(empty, "", pc.binary_join_element_wise(column, "+08:00", ""))
        elif name in ("gender", "consent_status"):
            column = pc.dictionary_encode(column)  # a handful of values, mapped in Python
            ok = pa.scalar(True)
        else:
            ok = pc.less_equal(pc.utf8_length(column), TEXT_LIMITS.get(name, 1000))
        if not pc.all(ok).as_py():
            raise SystemExit(f"{name}: a cell the prototype does not handle")
        out[name] = column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--threads", type=int, default=None, help="pyarrow's CPU threads")
    args = parser.parse_args()
    if args.threads:
        pa.set_cpu_count(args.threads)
        pa.set_io_thread_count(args.threads)
    began = time.perf_counter()
    with open(args.file, "rb") as stream:
        header = stream.readline().decode().strip().split(",")
    table = pcsv.read_csv(args.file, convert_options=pcsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False))
    read = time.perf_counter()
    columns = check(table)
    checked = time.perf_counter()
    text = io.BytesIO()
    pcsv.write_csv(pa.table(columns), text, pcsv.WriteOptions(include_header=False))
    written = time.perf_counter()
    print(f"arrow: {table.num_rows} rows, read {read - began:.2f} s, checks "
          f"{checked - read:.2f} s, COPY text {written - checked:.2f} s "
          f"({len(text.getvalue()) / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
