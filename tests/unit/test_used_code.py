"""What a fix is shown besides its region: the code around it that the
region stands in and uses, from its own file and from the workspace."""

from __future__ import annotations

from pathlib import Path

from lsp_server.documents import Document
from lsp_server.features.regions import region_for
from lsp_server.features.used_code import USED_CODE_CHARS, used_code
from lsp_server.workspace.context import CrossFile
from lsp_server.workspace.summary import summarise

CART = '''import math
from .rates import vat_rate, unused_rate


def rounded(amount: float, places: int = 2) -> float:
    """The amount rounded half up to `places`."""
    factor = 10 ** places
    return math.floor(amount * factor + 0.5) / factor


def unrelated(text: str) -> str:
    return text.upper()


class Cart:
    """Items and their prices."""

    def __init__(self, country: str) -> None:
        self.items: list[float] = []
        self.country = country

    def add(self, price: float) -> None:
        self.items.append(price)

    def total(self) -> float:
        net = sum(self.items)
        return rounded(net * (1 + vat_rate(self.country)), 2)
'''
RATES = "def vat_rate(country: str) -> float:\n    return 0.2\n\n\ndef unused_rate():\n    pass\n"
TOTAL_LINE = CART.count("\n") - 1  # `return rounded(...)` in Cart.total


def shown(cross_file: CrossFile | None = None) -> str:
    document = Document("file:///shop/cart.py", "python", 1, CART)
    region = region_for(document, TOTAL_LINE, TOTAL_LINE)
    assert region.name == "total"
    return used_code(document, region, TOTAL_LINE, cross_file, "cart.py")


def test_the_method_gets_its_class_the_imports_and_the_functions_it_calls() -> None:
    text = shown()
    assert "From this file, cart.py:" in text
    assert "class Cart:" in text, "the method's class, which the region continues"
    assert "import math\n" in text
    assert "from .rates import vat_rate" in text
    assert "def rounded(amount: float, places: int = 2) -> float:" in text
    assert "def unrelated" not in text, "only what the region uses"
    assert "def total" not in text, "the region itself is not repeated"
    assert "net = sum" not in text


def test_what_the_file_imports_from_the_workspace_and_the_region_uses() -> None:
    files = {Path("/shop/rates.py"): summarise("python", RATES)}
    imported = ["from .rates import vat_rate, unused_rate"]
    cross = CrossFile(Path("/shop/cart.py"), imported, [Path("/shop")], files.get)
    text = shown(cross)
    assert "From rates.py:\n```python\ndef vat_rate(country: str) -> float:" in text
    assert "unused_rate" not in text.split("From rates.py:")[1]


def test_no_region_or_no_grammar_shows_nothing_and_the_budget_holds() -> None:
    plain = Document("file:///shop/notes.txt", "plaintext", 1, "some words\n")
    assert used_code(plain, region_for(plain, 0, 0), 0, None, "notes.txt") == ""
    helpers = "".join(f"def helper_{n}(a):\n    return a + {n}\n\n\n" for n in range(400))
    calls = " + ".join(f"helper_{n}(x)" for n in range(400))
    text = f"{helpers}def uses_all(x):\n    return {calls}\n"
    document = Document("file:///shop/many.py", "python", 1, text)
    last = text.count("\n") - 1
    known = used_code(document, region_for(document, last, last), last, None, "many.py")
    assert "helper_399" in known, "the nearest first"
    assert len(known) < USED_CODE_CHARS + 200


def test_an_import_nested_in_a_try_is_not_shown_out_of_its_place() -> None:
    text = (
        "import os\ntry:\n    from gettext import gettext as _\nexcept ImportError:\n"
        "    _ = str\n\n\ndef say(text):\n    return _(os.sep + text)\n"
    )
    document = Document("file:///w/say.py", "python", 1, text)
    known = used_code(document, region_for(document, 8, 8), 8, None, "say.py")
    assert "import os\n" in known
    assert "gettext" not in known
