"""What the model is shown: the window around the cursor and, within the
context budget, what the window leaves out that the code near the cursor uses."""

from __future__ import annotations

from pathlib import Path

from lsp_server.context.anchored import AnchoredPrompt
from lsp_server.context.prompt import Prompt, PromptRequest, assemble, relative_path
from lsp_server.context.syntax import SyntaxTree
from lsp_server.documents import Document
from lsp_server.layout import PromptLayout
from lsp_server.workspace.context import CrossFile
from lsp_server.workspace.summary import summarise

FILLER = "".join(f"def filler_{n}(a):\n    return a + {n}\n\n\n" for n in range(120))

STORE = f'''import os
from decimal import Decimal


def parse_price(text):
    """Read a price such as "12.50" or "12,50 EUR".

    Commas count as decimal points, and a currency after the number is dropped.

    Raises ValueError for text without a number.
    """
    number = text.strip().split()[0]
    number = number.replace(",", ".")
    if not number:
        raise ValueError(text)
    value = Decimal(number)
    return value


{FILLER}
class Store:
    def __init__(self, root):
        self.root = root

    def total(self, lines):
{FILLER.replace("def ", "        def _").replace("    return", "            return")}
        prices = [parse_price(line) for line in lines]
        path = os.path.join(self.root, "total.txt")
        CURSOR
        return sum(prices)
'''


def asked(
    document: Document,
    offset: int,
    prefix: str,
    suffix: str,
    others: list[Document],
    prompt_tokens: int,
    context_tokens: int,
    roots: list[str] | None = None,
    cross_file: CrossFile | None = None,
) -> PromptRequest:
    """A prompt's request in the default preset's layout, for `prompt_tokens`."""
    layout = PromptLayout(prompt_tokens=prompt_tokens)
    return PromptRequest(
        document,
        offset,
        prefix,
        suffix,
        layout,
        context_tokens,
        tuple(roots or ()),
        tuple(others),
        cross_file,
    )


def store_prompt(
    text: str = STORE, others: tuple[Document, ...] = (), context_tokens: int = 160
) -> tuple[Prompt, int]:
    offset = text.index("CURSOR")
    text = text.replace("CURSOR", "")
    document = Document("file:///shop/store.py", "python", 1, text)
    prompt = assemble(
        asked(
            document,
            offset,
            text[:offset],
            text[offset:],
            [document, *others],
            prompt_tokens=400,
            context_tokens=context_tokens,
            roots=["file:///shop"],
        )
    )
    return prompt, offset


def test_the_window_is_whole_lines_and_the_header_what_it_needs_from_outside() -> None:
    prompt, offset = store_prompt()
    text = STORE.replace("CURSOR", "")
    assert text[: offset - len(prompt.before_cursor)].endswith("\n"), "the window starts a line"
    assert "def total" not in prompt.prefix, "the enclosing method starts outside the window"
    header = prompt.context.header
    # In file order: imports, the definition used near the cursor, the enclosing signatures.
    assert header.index("import os") < header.index("def parse_price(text):")
    assert header.index("def parse_price(text):") < header.index("class Store:")
    assert header.index("class Store:") < header.index("    def total(self, lines):")
    # A long definition is shown short: signature, the docstring's first paragraph, `...`.
    assert '    """Read a price such as "12.50" or "12,50 EUR".\n    """\n    ...\n' in header
    assert "Decimal(number)" not in header
    assert "filler_" not in header, "definitions the code does not use stay out"
    assert (prompt.context.repo, prompt.context.path) == ("shop", "store.py")


def test_the_prompt_start_moves_in_steps_while_the_user_types() -> None:
    typed = "result = sum(prices) + len(path.split(os.sep)) * 2"
    starts: list[str] = []
    for end in range(len(typed) + 1):
        prompt, _ = store_prompt(STORE.replace("CURSOR", typed[:end] + "CURSOR"))
        assert prompt.context.header == store_prompt()[0].context.header
        starts.append(prompt.prefix[:80])
    # The window's start moves by whole steps of lines, not with every key.
    assert len(set(starts)) <= 2


def test_a_fresh_line_after_the_last_statement_is_still_inside_the_method() -> None:
    # Python's blocks end by indentation: tree-sitter's method node ends at its
    # last statement, but an indented line below it belongs to the method.
    long_body = "".join(f"        x{n} = {n}\n" for n in range(200))
    method = f"class Store:\n    def total(self, lines):\n{long_body}\n"
    after = "\n    def other(self):\n        return 1\n"
    header = store_prompt(method + "        CURSOR\n" + after)[0].context.header
    assert header == "class Store:\n    def total(self, lines):\n"
    # A line at the class's indentation is not in the method any more: the
    # method's signature is there only because the window starts in its body.
    prompt = store_prompt(method + "    CURSOR\n" + after)[0]
    assert prompt.context.header == "class Store:\n    def total(self, lines):\n"
    assert prompt.prefix.startswith("        x"), "the window starts in the method's body"
    moved = f"class Store:\n{long_body}\n    def total(self, lines):\n        return 1\n\n"
    assert store_prompt(moved + "    CURSOR\n")[0].context.header == "class Store:\n"


def test_the_header_ends_with_the_signature_the_window_continues() -> None:
    long_body = "".join(f"        x{n} = {n}\n" for n in range(200))
    text = (
        "import os\n\n\nclass Store:\n    def total(self, lines):\n"
        f"{long_body}        CURSOR\n        return self.round(x0)\n"
        + "".join(f"\n    def filler{n}(self):\n        return {n}\n" for n in range(40))
        + "\n    def round(self, value):\n        return int(value)\n"
    )
    header = store_prompt(text)[0].context.header
    assert header == (
        "import os\n"
        "class Store:\n"
        "    def round(self, value):\n        return int(value)\n"
        "    def total(self, lines):\n"
    ), "a method after the window goes into its class, before the enclosing signature"


def test_definitions_from_other_open_documents_of_the_language() -> None:
    rates = Document(
        "file:///shop/rates.py",
        "python",
        1,
        "def vat_rate(country):\n    return 0.2\n\n\ndef unused():\n    pass\n",
    )
    script = Document("file:///shop/vat.js", "javascript", 1, "function vat_rate() {}\n")
    typed = STORE.replace("CURSOR", "vat = vat_rate(self.country)\n        CURSOR")
    prompt, _ = store_prompt(typed, others=(rates, script))
    assert prompt.context.files == (("rates.py", "def vat_rate(country):\n    return 0.2\n"),)


def test_the_context_budget_bounds_the_header_and_files() -> None:
    prompt, _ = store_prompt(context_tokens=0)
    assert prompt.context.header == ""
    assert prompt.context.files == ()
    small, _ = store_prompt(context_tokens=20)
    assert 0 < len(small.context.header) <= 20 * 3.5
    assert "class Store:" in small.context.header, "the enclosing signature comes first"


def test_a_short_file_is_its_own_window() -> None:
    text = "import os\n\ndef f():\n    return os.getcwd()\n"
    document = Document("file:///a.py", "python", 1, text)
    prompt = assemble(asked(document, 20, text[:20], text[20:], [document], 400, 100))
    assert (prompt.before_cursor, prompt.suffix, prompt.context.header) == (
        text[:20],
        text[20:],
        "",
    )
    plain = Document("file:///notes.txt", "plaintext", 1, "x" * 5000)
    prompt = assemble(asked(plain, 4000, "x" * 4000, "x" * 1000, [plain], 400, 100))
    assert prompt.context.header == ""
    assert len(prompt.before_cursor) + len(prompt.suffix) <= 400 * 3.5


def test_relative_paths_come_from_the_workspace_folder() -> None:
    assert relative_path("file:///home/me/app/src/main.py", ["file:///home/me/app"]) == (
        "app",
        "src/main.py",
    )
    assert relative_path("file:///elsewhere/x.py", ["file:///home/me/app"]) == ("", "x.py")


def test_short_forms_elide_bodies_the_way_each_language_writes_an_empty_one() -> None:
    body = "".join(f"  step{n}();\n" for n in range(8))
    source = f"/** Adds. */\nfunction add(a, b) {{\n{body}  return a + b;\n}}\n"
    outline = SyntaxTree("javascript", source).outline()
    (add,) = outline.definitions
    assert outline.short_form(add) == "/** Adds. */\nfunction add(a, b) { ... }"
    python = "class Cart:\n    '''A cart.'''\n" + "".join(
        f"    def item{n}(self, x):\n        return x\n" for n in range(4)
    )
    outline = SyntaxTree("python", python).outline()
    cart = outline.definitions[0]
    assert outline.short_form(cart) == (
        "class Cart:\n    '''A cart.'''\n"
        + "".join(f"    def item{n}(self, x): ...\n" for n in range(4))
        + "    ..."
    )


def test_only_the_codes_own_names_count_as_used() -> None:
    long_body = "".join(f"    x{n} = {n}\n" for n in range(200))
    text = (
        "class Shape:\n    def area(self):\n        return 0\n\n"
        "    def scale(self, factor):\n        return factor\n\n\n"
        'def draw(canvas):\n    """Draws a Shape: see scale(), area()."""\n'
        f"{long_body}    # the area of the canvas\n    area = canvas.size()\n"
        "    print('scale(2)', area.real)\n    CURSOR\n"
    )
    header = store_prompt(text)[0].context.header
    # Shape, scale and area appear only in the docstring, a comment, a string,
    # and as a local variable with members: none is what the code uses.
    assert header == "def draw(canvas):\n"
    used = text.replace("    CURSOR", "    shape.scale(2)\n    CURSOR")
    header = store_prompt(used)[0].context.header
    assert header == (
        "class Shape:\n    def scale(self, factor):\n        return factor\ndef draw(canvas):\n"
    ), "a method comes with its class's first line"


def test_a_window_that_starts_inside_a_definition_or_a_docstring() -> None:
    doc = "".join(f"    Line {n} of the doc.\n" for n in range(200))
    body = "".join(f"        self.x{n} = {n}\n" for n in range(20))
    text = f'class Dialect:\n    """A dialect.\n\n{doc}    """\n    def __init__(self):\n{body}'
    prompt = store_prompt(text + "        CURSOR\n")[0]
    # The class's line comes first; the window does not start inside its
    # docstring, whose closing quotes would read as opening a string.
    assert prompt.context.header == "class Dialect:\n"
    assert prompt.prefix.startswith("    def __init__(self):\n"), prompt.prefix[:80]
    assert '"""' not in prompt.before_cursor


def test_a_window_starts_at_a_statement_not_in_the_middle_of_one() -> None:
    calls = "".join(
        f"    total{n} = add(\n        {n},\n        {n + 1},\n    )\n" for n in range(150)
    )
    for lines in range(4):  # wherever the window's step falls
        text = "def sums():\n" + "    pass\n" * lines + calls + "    CURSOR\n"
        prompt = store_prompt(text)[0]
        assert prompt.prefix.startswith("    total"), prompt.prefix[:40]


def test_what_the_header_shows_from_after_the_window_comes_before_where_it_starts() -> None:
    body = "".join(f"    y{n} = {n}\n" for n in range(200))
    text = f"def first():\n{body}    return y0\n\n\ndef main():\n    later(1)\n    CURSOR\n\n\n"
    text += FILLER + "def later(x):\n    return x\n"
    prompt = store_prompt(text)[0]
    assert prompt.prefix.startswith("    y"), "the window starts in first()'s body"
    assert prompt.context.header.endswith("def later(x):\n    return x\ndef first():\n")


def test_definitions_at_the_cursor_and_special_methods_are_not_looked_up() -> None:
    other = "".join(f"\nclass Other{n}:\n    def __init__(self, a):\n" for n in range(3))
    other += "".join(f"        a{n} = {n}\n" for n in range(10)) + "        def helper():\n"
    other += "            return 1\n        return helper\n"
    filler = "".join(f"    x{n} = {n}\n" for n in range(200))
    text = f"{other}\n\ndef run():\n{filler}\n\nclass Shape:\n    def __init__(self, size):\n"
    text += "        helper(size)\n        super().__init__(size)\n        CURSOR\n"
    header = store_prompt(text)[0].context.header
    # `__init__` is defined here and called on super(): neither looks up every
    # class's own; `helper` is local to a method elsewhere.
    assert "__init__" not in header.replace("class Shape:\n    def __init__(self, size):\n", "")
    assert "helper" not in header


def anchored_prompt(
    prompts: AnchoredPrompt, text: str, others: tuple[Document, ...] = ()
) -> Prompt:
    """The prompt for the text with CURSOR in it, as typing asks for it."""
    offset = text.index("CURSOR")
    text = text.replace("CURSOR", "")
    document = Document("file:///shop/store.py", "python", 1, text)
    return prompts.assemble(
        asked(document, offset, text[:offset], text[offset:], [document, *others], 400, 160)
    )


def test_typing_on_from_the_anchor_only_extends_the_middle() -> None:
    prompts = AnchoredPrompt()
    first = anchored_prompt(prompts, STORE.replace("CURSOR", "tot" + "CURSOR"))
    # The middle: the lines just above the cursor's (in a small share of the
    # budget), and the cursor's line up to it.
    assert first.middle.endswith('"total.txt")\n        tot'), first.middle
    assert len(first.middle) <= 400 // 4 * 2.5 / 2
    typed = "total = sum(prices)\n        with open(path, 'w') as out:\n            out.wri"
    for end in range(len(typed) + 1):
        prompt = anchored_prompt(prompts, STORE.replace("CURSOR", typed[:end] + "CURSOR"))
        assert (prompt.prefix, prompt.suffix, prompt.context) == (
            first.prefix,
            first.suffix,
            first.context,
        )
        assert prompt.middle == first.middle.removesuffix("tot") + typed[:end]
    # The same text made afresh puts the typed lines into the prefix.
    offset = STORE.index("CURSOR") + len(typed)
    text = STORE.replace("CURSOR", typed)
    document = Document("file:///shop/store.py", "python", 1, text)
    fresh = assemble(asked(document, offset, text[:offset], text[offset:], [document], 400, 160))
    assert fresh.middle.endswith("        with open(path, 'w') as out:\n            out.wri")
    assert fresh.before_cursor.endswith(prompt.before_cursor[-200:])


def test_the_prompt_is_made_afresh_when_more_than_the_line_changes() -> None:
    prompts = AnchoredPrompt()
    first = anchored_prompt(prompts, STORE.replace("CURSOR", "x = 1CURSOR"))
    # Text after the cursor changed (the user moved, or edited below).
    moved = anchored_prompt(prompts, STORE.replace("CURSOR", "x = 1CURSOR\n        y = 2"))
    assert moved.suffix != first.suffix
    assert moved.middle.endswith("\n        x = 1")
    # More typed than the middle's share of the budget: anchored at the cursor's line.
    long_lines = "".join(f"x{n} = compute({n})\n        " for n in range(20))
    grown = anchored_prompt(prompts, STORE.replace("CURSOR", long_lines + "zCURSOR"))
    assert grown.middle.endswith("\n        z")
    assert len(grown.middle) < len(long_lines)
    # While anchored, the context stays as it was made, even as the line
    # starts using a name another document defines ...
    other = Document("file:///shop/prices.py", "python", 1, "def lookup(x):\n    return x\n")
    before = anchored_prompt(prompts, STORE.replace("CURSOR", "zCURSOR"), (other,))
    typed = anchored_prompt(prompts, STORE.replace("CURSOR", "z = lookup(CURSOR"), (other,))
    assert before.context.files == typed.context.files == ()
    # ... until that document changes: then it is made afresh, with it.
    edited = Document("file:///shop/prices.py", "python", 2, "def lookup(x):\n    return 2\n")
    after = anchored_prompt(prompts, STORE.replace("CURSOR", "z = lookup(xCURSOR"), (edited,))
    assert after.context.files == (("prices.py", "def lookup(x):\n    return 2\n"),)
    assert after.middle.endswith("\n        z = lookup(x")


def test_a_middle_that_outgrows_its_share_slides_into_the_prefix() -> None:
    prompts = AnchoredPrompt()
    first = anchored_prompt(prompts, STORE.replace("CURSOR", "CURSOR"))
    lines = "".join(f"subtotal_{n} = prices[{n}] * rates[{n}]\n        " for n in range(6))
    slid = anchored_prompt(prompts, STORE.replace("CURSOR", lines + "CURSOR"))
    # Its first lines joined the prefix; the header and the rest stay as they were.
    assert slid.prefix.startswith(first.prefix)
    assert len(slid.prefix) > len(first.prefix)
    assert (slid.suffix, slid.context) == (first.suffix, first.context)
    assert slid.before_cursor.endswith(lines)
    assert len(slid.middle) <= 400 // 4 * 2.5 / 2


def test_what_the_file_imports_from_the_workspace_comes_before_other_open_documents() -> None:
    files = {
        Path("/shop/formatting.py"): summarise(
            "python",
            "class Formatter:\n    def indent(self, by):\n        pass\n\n\n"
            "def render(text):\n    return text\n\n\ndef _hidden():\n    pass\n",
        ),
        Path("/shop/rates.py"): summarise("python", "def vat_rate(country):\n    return 0.2\n"),
    }
    text = (
        "from .formatting import Formatter\nfrom . import rates\nimport formatting as fmt\n\n\n"
        "def show(f: Formatter):\n    x = rates.vat_rate(1)\n    return fmt."
    )
    document = Document("file:///shop/show.py", "python", 1, text)
    rates = Document("file:///shop/rates.py", "python", 1, "def vat_rate(country):\n    pass\n")
    statements = ["from .formatting import Formatter", "from . import rates"]
    statements.append("import formatting as fmt")
    cross = CrossFile(Path("/shop/show.py"), statements, [Path("/shop")], files.get)
    roots = ["file:///shop"]
    prompt = assemble(asked(document, len(text), text, "", [rates], 600, 200, roots, cross))
    paths = [path for path, _ in prompt.context.files]
    # In import order, and rates.py once: the open document's copy is not added again.
    assert paths == ["formatting.py", "rates.py"]
    # After `fmt.`: the module's public definitions, a line each.
    assert prompt.context.files[0][1] == "class Formatter: ...\ndef render(text): ...\n"
    # On the next line, what the code near uses of it: short, so whole.
    text += "render(x)\n    "
    document = Document("file:///shop/show.py", "python", 2, text)
    prompt = assemble(asked(document, len(text), text, "", [rates], 600, 200, roots, cross))
    formatting = prompt.context.files[0][1]
    assert formatting.startswith("class Formatter:\n    def indent(self, by):\n")
    assert formatting.count("class Formatter") == 1
    assert "def render(text):\n" in formatting
    assert "_hidden" not in formatting


def test_after_module_dot_the_names_the_code_speaks_of_come_first_and_hold() -> None:
    names = [f"{word}BoundaryDefect" for word in ("No", "Start", "Close", "Misplaced", "Lost")]
    names += [f"InvalidBase64{word}Defect" for word in ("Characters", "Length", "Padding")]
    errors = "".join(f"class {name}(MessageDefect):\n    pass\n\n\n" for name in names)
    files = {
        Path("/mail/errors.py"): summarise("python", errors),
        Path("/mail/charset.py"): summarise("python", "class Charset:\n    pass\n"),
    }
    statements = ["from . import errors", "from .charset import Charset"]
    cross = CrossFile(Path("/mail/decode.py"), statements, [Path("/mail")], files.get)

    def context(typed: str) -> tuple[tuple[str, str], ...]:
        body = [
            "    if len(text) % 4:",
            "        # the padding is wrong",
            "        defect = errors.",
        ]
        text = "\n".join([*statements, "", "", "def decode(text, charset: Charset):", *body])
        document = Document("file:///mail/decode.py", "python", 1, text + typed)
        at = len(document.text)
        # Room for a few lines of context only: not all of errors.py's names.
        request = asked(document, at, document.text, "", [], 600, 60, ["file:///mail"], cross)
        return assemble(request).context.files

    files_shown = context("")
    # The module's names before all else: Charset, used near the cursor too,
    # finds no room left.
    assert [path for path, _ in files_shown] == ["errors.py"]
    listed = files_shown[0][1]
    assert "class InvalidBase64PaddingDefect(MessageDefect): ..." in listed
    assert "LostBoundaryDefect" not in listed  # left out for lack of room
    assert listed.index("StartBoundary") < listed.index("InvalidBase64Padding")  # in file order
    # What is typed after the dot does not move the list: the prompt's start
    # stays in the model's cache.
    assert context("Inv") == context("InvalidBase64L") == files_shown
