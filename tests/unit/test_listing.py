"""Which of a module's names are listed after `module.`: ranked by the code around the cursor."""

from __future__ import annotations

from lsp_server.workspace import listing
from lsp_server.workspace.summary import summarise

ERRORS = "".join(
    f'class {name}(MessageDefect):\n    """{name}."""\n\n\n'
    for name in (
        "NoBoundaryInMultipartDefect",
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "InvalidBase64PaddingDefect",
        "InvalidBase64CharactersDefect",
        "InvalidBase64LengthDefect",
    )
)


def test_names_split_into_their_words() -> None:
    assert listing.words("InvalidBase64PaddingDefect") == {
        "invalid",
        "base",
        "64",
        "padding",
        "defect",
    }
    assert listing.words("HTTPServer _has_surrogates UNKNOWN8BIT") == {
        "http", "server", "has", "surrogates", "unknown", "8", "bit"
    }  # fmt: skip
    assert listing.words("NoBoundaryInMultipartDefect, as it is") == {
        "boundary",
        "multipart",
        "defect",
    }


def test_the_names_the_code_around_speaks_of_come_first() -> None:
    entries = summarise("python", ERRORS).entries
    near = "        if pad_err:\n            # the padding was wrong\n"
    first = listing.ranked(entries, near)[0]
    assert first.name == "InvalidBase64PaddingDefect"
    # A word every name has tells them apart no better than none: `defect`
    # and `boundary` weigh less than `close`; `a` and `in` not at all.
    near = "    # a close boundary defect, in base64\n"
    assert listing.ranked(entries, near)[0].name == "CloseBoundaryNotFoundDefect"


def test_where_the_code_does_not_tell_the_file_order_holds() -> None:
    entries = summarise("python", ERRORS).entries
    assert listing.ranked(entries, "x = 1\n") == list(entries)
    ranked = listing.ranked(entries, "charset, characters")
    assert [e.name for e in ranked[:2]] == [
        "InvalidBase64CharactersDefect",
        "NoBoundaryInMultipartDefect",
    ]


def test_the_code_around_is_the_lines_near_and_not_what_is_typed_after_the_dot() -> None:
    above = "".join(f"line{n}\n" for n in range(20))
    around = listing.around(above, "    defect = ", "Defect()\nnext1\nnext2\nnext3\nnext4\n")
    assert around.split("\n") == [
        *(f"line{n}" for n in range(10, 20)),
        "",
        "    defect = ",
        "Defect()",
        "next1",
        "next2",
        "next3",
    ]
