"""Opening a CSV file: encodings, delimiters, line numbers."""

import codecs
import io

import pytest

from crm.importing.reading import ImportFileError, open_csv, sniff_delimiter, sniff_encoding

from .conftest import DATA, csv_file


def rows(text: str, encoding: str = "utf-8") -> tuple[list[str], list]:
    opened = open_csv(csv_file(text, encoding))
    return opened.header, list(opened.rows)


def test_encodings_are_sniffed():
    text = "name,city\n李雷,北京\n"
    assert sniff_encoding(text.encode("utf-8"), True) == "utf-8"
    assert sniff_encoding(codecs.BOM_UTF8 + text.encode("utf-8"), True) == "utf-8-sig"
    assert sniff_encoding(text.encode("gbk"), True) == "gb18030"
    assert sniff_encoding("name\n".encode("utf-16"), True) == "utf-16"


def test_a_utf8_character_cut_by_the_sniffing_chunk_is_still_utf8():
    head = "李".encode()[:2]
    assert sniff_encoding(b"a,b\n" + head, at_end=False) == "utf-8"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_chinese_text_reads_back_in_every_encoding(encoding):
    header, records = rows("name,city\n李雷,北京\n韩梅梅,上海\n", encoding)
    assert header == ["name", "city"]  # no BOM left on the first header
    assert [cells for _, cells, _ in records] == [["李雷", "北京"], ["韩梅梅", "上海"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(delimiter):
    text = delimiter.join(["email", "name", "amount"]) + "\n"
    text += delimiter.join(["a@example.com", "Ann", '"1,5"']) + "\n"
    header, records = rows(text)
    assert header == ["email", "name", "amount"]
    assert records[0][1] == ["a@example.com", "Ann", "1,5"]


def test_semicolons_win_over_commas_inside_values():
    assert sniff_delimiter("a;b;c\n1,5;2,5;x\n") == ";"


def test_line_numbers_count_physical_lines():
    text = 'name,note\nAnn,"two\nlines"\n\nBob,x\n'
    _, records = rows(text)
    assert [(line, cells) for line, cells, _ in records] == [
        (2, ["Ann", "two\nlines"]), (5, ["Bob", "x"]),
    ]


def test_bytes_invalid_in_the_encoding_are_flagged_on_their_row():
    good = ("email\n" + "a@example.com\n" * 5000).encode()  # past the sniffed chunk
    opened = open_csv(io.BytesIO(good + b"b\xff@example.com\nc@example.com\n"))
    flagged = [(line, cells) for line, cells, bad in opened.rows if bad]
    assert flagged == [(5002, ["b\ufffd@example.com"])]


def test_an_empty_file_cannot_be_imported():
    with pytest.raises(ImportFileError, match="empty"):
        open_csv(io.BytesIO(b""))
    with pytest.raises(ImportFileError, match="empty"):
        open_csv(io.BytesIO(b"\n\n"))


def test_the_gbk_fixture_is_gbk():
    raw = (DATA / "customers_mixed_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert open_csv(io.BytesIO(raw)).encoding == "gb18030"


def test_a_latin1_file_is_read_as_latin1_not_as_chinese():
    text = ("email,name,city\nrenee@example.com,Renée Müller,Zürich\n"
            "f@example.com,François,Besançon\n")
    assert sniff_encoding(text.encode("latin-1"), True) == "cp1252"
    header, records = rows(text, "latin-1")
    assert [cells for _, cells, _ in records] == [
        ["renee@example.com", "Renée Müller", "Zürich"], ["f@example.com", "François", "Besançon"],
    ]


def test_bytes_that_are_no_text_are_a_file_error():
    with pytest.raises(ImportFileError, match="not text in UTF-8"):
        open_csv(io.BytesIO(b"name\n" + bytes(range(128, 256)) * 4))
