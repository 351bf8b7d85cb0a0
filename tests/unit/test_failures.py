"""Failures pasted into the editor (features/failures.py): the frames and the
error read from each format, and the innermost frame that is a file of the
workspace, with frames in libraries, runtimes and outside the roots skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.features.failures import Failure, Frame, innermost_in, parse, resolver


def write(root: Path, relative: str, text: str = "x = 1\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def parsed(text: str) -> Failure:
    failure = parse(text)
    assert failure is not None
    return failure


def places(failure: Failure) -> list[tuple[str, int, int | None, str | None]]:
    return [(f.path, f.line, f.column, f.function) for f in failure.frames]


# Python


def python_traceback(root: Path) -> str:
    return f"""Traceback (most recent call last):
  File "{root}/app/main.py", line 14, in <module>
    main()
  File "{root}/app/main.py", line 10, in main
    print(json.loads(load(path)))
          ^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""


def test_a_python_traceback_reads_every_frame_and_the_error(tmp_path: Path) -> None:
    failure = parsed(python_traceback(tmp_path))
    assert failure.kind == "python"
    assert places(failure) == [
        (f"{tmp_path}/app/main.py", 14, None, "<module>"),
        (f"{tmp_path}/app/main.py", 10, None, "main"),
        ("/usr/lib/python3.11/json/__init__.py", 346, None, "loads"),
        ("/usr/lib/python3.11/json/decoder.py", 355, None, "raw_decode"),
    ]
    assert failure.message == (
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    )


def test_the_standard_library_is_skipped_for_the_workspace_frame(tmp_path: Path) -> None:
    main = write(tmp_path, "app/main.py")
    found = innermost_in(parsed(python_traceback(tmp_path)), resolver([tmp_path]))
    assert found is not None
    assert found[1] == main
    assert (found[0].line, found[0].function) == (10, "main")


def test_a_chained_python_failure_is_read_from_the_exception_raised(tmp_path: Path) -> None:
    text = """Traceback (most recent call last):
  File "/home/u/shop/shop/prices.py", line 8, in price_of
    return PRICES[name]
           ~~~~~~^^^^^^
KeyError: 'pear'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/home/u/shop/cli.py", line 5, in <module>
    total(["apple", "pear"])
  File "/home/u/shop/shop/cart.py", line 21, in total
    raise ValueError(f"no price for {name}") from None
ValueError: no price for pear
"""
    failure = parsed(text)
    assert [f.path for f in failure.frames] == ["/home/u/shop/cli.py", "/home/u/shop/shop/cart.py"]
    assert failure.message == "ValueError: no price for pear"


def test_a_direct_cause_is_read_from_the_exception_raised() -> None:
    text = """Traceback (most recent call last):
  File "conf.py", line 3, in read
    return int(value)
ValueError: invalid literal for int() with base 10: 'x'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "run.py", line 9, in <module>
    read("x")
  File "conf.py", line 5, in read
    raise ConfigError("bad port") from error
conf.ConfigError: bad port
"""
    failure = parsed(text)
    assert places(failure) == [("run.py", 9, None, "<module>"), ("conf.py", 5, None, "read")]
    assert failure.message == "conf.ConfigError: bad port"


def test_a_syntax_error_has_its_line_and_message() -> None:
    text = """  File "/home/u/proj/calc.py", line 3
    if x = 1:
       ^^^^^
SyntaxError: invalid syntax. Maybe you meant '==' or ':=' instead of '='?
"""
    failure = parsed(text)
    assert places(failure) == [("/home/u/proj/calc.py", 3, None, None)]
    assert failure.message.startswith("SyntaxError: invalid syntax.")


def test_a_syntax_error_raised_by_an_import_has_the_importing_frames() -> None:
    text = """Traceback (most recent call last):
  File "/home/u/proj/main.py", line 1, in <module>
    import calc
  File "/home/u/proj/calc.py", line 7
    return (a +
           ^
SyntaxError: '(' was never closed
"""
    failure = parsed(text)
    assert failure.frames[-1] == Frame("/home/u/proj/calc.py", 7, None, None)
    assert failure.message == "SyntaxError: '(' was never closed"


# pytest

PYTEST_LONG = """\
============================= test session starts ==============================
platform linux -- Python 3.11.9, pytest-8.3.2, pluggy-1.5.0
rootdir: /home/u/calc
collected 2 items

tests/test_calc.py F.                                                    [100%]

=================================== FAILURES ===================================
_________________________________ test_divide __________________________________

    def test_divide():
>       assert divide(6, 0) == 0

tests/test_calc.py:8:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

a = 6, b = 0

    def divide(a, b):
        if b < 0:
            raise ValueError("negative")
>       return a / b
E       ZeroDivisionError: division by zero

calc/ops.py:4: ZeroDivisionError
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_divide - ZeroDivisionError: division by zero
========================= 1 failed, 1 passed in 0.03s ==========================
""".replace(":8:\n", ":8: \n")  # pytest leaves a space after a frame's location


def test_pytest_long_form_reads_locations_functions_and_e_lines(tmp_path: Path) -> None:
    failure = parsed(PYTEST_LONG)
    assert failure.kind == "pytest"
    assert places(failure) == [
        ("tests/test_calc.py", 8, None, "test_divide"),
        ("calc/ops.py", 4, None, "divide"),
    ]
    assert failure.message == "ZeroDivisionError: division by zero"
    ops = write(tmp_path, "calc/ops.py")
    write(tmp_path, "tests/test_calc.py")
    found = innermost_in(failure, resolver([tmp_path]))
    assert found is not None
    assert found[1] == ops


def test_pytest_assertion_keeps_the_e_lines_and_their_indentation() -> None:
    text = """\
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(1, 2) == 4
E       assert 3 == 4
E        +  where 3 = add(1, 2)

tests/test_calc.py:5: AssertionError
___________________________________ test_sub ___________________________________

    def test_sub():
>       assert sub(1, 2) == 4
E       assert -1 == 4

tests/test_calc.py:9: AssertionError
"""
    failure = parsed(text)
    assert places(failure) == [("tests/test_calc.py", 5, None, "test_add")]
    assert failure.message == "assert 3 == 4\n +  where 3 = add(1, 2)"


def test_pytest_short_form_skips_the_installed_library(tmp_path: Path) -> None:
    text = """\
__________________________________ test_fetch __________________________________
tests/test_api.py:12: in test_fetch
    assert fetch("/users") == []
api/client.py:30: in fetch
    return requests.get(url).json()
.venv/lib/python3.11/site-packages/requests/models.py:978: in json
    raise RequestsJSONDecodeError(e.msg, e.doc, e.pos)
E   requests.exceptions.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""
    write(tmp_path, "tests/test_api.py")
    client = write(tmp_path, "api/client.py")
    write(tmp_path, ".venv/lib/python3.11/site-packages/requests/models.py")
    failure = parsed(text)
    assert [f.function for f in failure.frames] == ["test_fetch", "fetch", "json"]
    assert failure.message.startswith("requests.exceptions.JSONDecodeError: Expecting value")
    found = innermost_in(failure, resolver([tmp_path]))
    assert found is not None
    assert (found[0].line, found[1]) == (30, client)


def test_pytest_line_form_reads_the_first_failure() -> None:
    text = """\
/home/u/calc/tests/test_calc.py:5: AssertionError: assert 3 == 4
/home/u/calc/tests/test_calc.py:9: AssertionError: assert -1 == 4
"""
    failure = parsed(text)
    assert places(failure) == [("/home/u/calc/tests/test_calc.py", 5, None, None)]
    assert failure.message == "AssertionError: assert 3 == 4"


def test_pytest_colored_output_is_read_without_its_escape_codes() -> None:
    text = (
        "\x1b[1m\x1b[31mtests/test_calc.py\x1b[0m:5: in test_add\r\n"
        "    assert add(1, 2) == 4\r\n"
        "\x1b[1m\x1b[31mE   assert 3 == 4\x1b[0m\r\n"
    )
    failure = parsed(text)
    assert places(failure) == [("tests/test_calc.py", 5, None, "test_add")]
    assert failure.message == "assert 3 == 4"


def test_pytest_chained_exceptions_are_read_from_the_exception_raised() -> None:
    text = """\
_________________________________ test_config __________________________________

    def load(text):
        try:
>           return int(text)
E           ValueError: invalid literal for int() with base 10: 'x'

conf.py:4: ValueError

The above exception was the direct cause of the following exception:

    def test_config():
>       load("x")

tests/test_conf.py:6:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def load(text):
        try:
            return int(text)
        except ValueError as error:
>           raise ConfigError("bad port") from error
E           conf.ConfigError: bad port

conf.py:6: ConfigError
"""
    failure = parsed(text)
    assert places(failure) == [
        ("tests/test_conf.py", 6, None, "test_config"),
        ("conf.py", 6, None, "load"),
    ]
    assert failure.message == "conf.ConfigError: bad port"


def test_a_pytest_collection_error_points_at_the_import() -> None:
    text = """\
_____________________ ERROR collecting tests/test_calc.py ______________________
ImportError while importing test module '/home/u/calc/tests/test_calc.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_calc.py:3: in <module>
    from calc.ops import multiply
E   ImportError: cannot import name 'multiply' from 'calc.ops' (/home/u/calc/calc/ops.py)
"""
    failure = parsed(text)
    assert failure.kind == "pytest"
    assert failure.frames[-1] == Frame("tests/test_calc.py", 3, None, "<module>")
    assert failure.message.startswith("ImportError: cannot import name 'multiply'")


# Node.js

NODE = """\
/home/u/web/src/cart.js:12
  return items.reduce((sum, item) => sum + item.price.amount, 0);
                                                      ^

TypeError: Cannot read properties of undefined (reading 'amount')
    at /home/u/web/src/cart.js:12:55
    at Array.reduce (<anonymous>)
    at total (/home/u/web/src/cart.js:12:16)
    at Object.handler (/home/u/web/node_modules/express-lite/lib/router.js:88:14)
    at main (file:///home/u/web/src/main.mjs:7:3)
    at Module._compile (node:internal/modules/cjs/loader:1358:14)
    at node:internal/main/run_main_module:28:49

Node.js v20.15.0
"""


def test_a_node_stack_reads_frames_outermost_first_without_internals() -> None:
    failure = parsed(NODE)
    assert failure.kind == "node"
    assert places(failure) == [
        ("file:///home/u/web/src/main.mjs", 7, 3, "main"),
        ("/home/u/web/node_modules/express-lite/lib/router.js", 88, 14, "Object.handler"),
        ("/home/u/web/src/cart.js", 12, 16, "total"),
        ("/home/u/web/src/cart.js", 12, 55, None),
    ]
    assert failure.message == "TypeError: Cannot read properties of undefined (reading 'amount')"


def test_node_modules_and_file_urls_resolve_as_they_should(tmp_path: Path) -> None:
    root = tmp_path / "web"
    main = write(root, "src/main.mjs")
    write(root, "node_modules/express-lite/lib/router.js")
    failure = parsed(NODE.replace("/home/u/web", str(root)))
    resolve = resolver([root])
    assert resolve(f"file://{root}/src/main.mjs") == main
    assert resolve(f"{root}/node_modules/express-lite/lib/router.js") is None
    found = innermost_in(failure, resolve)  # cart.js is not in this workspace
    assert found is not None
    assert found[1] == main
    assert (found[0].line, found[0].column) == (7, 3)


# Rust

RUST_BACKTRACE = """\
thread 'main' panicked at src/parse.rs:20:31:
called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }
stack backtrace:
   0: rust_begin_unwind
             at /rustc/H/library/std/src/panicking.rs:652:5
   1: core::panicking::panic_fmt
             at /rustc/H/library/core/src/panicking.rs:72:14
   2: core::result::unwrap_failed
             at /rustc/H/library/core/src/result.rs:1679:5
   3: demo::parse::port
             at ./src/parse.rs:20:31
   4: demo::main
             at ./src/main.rs:6:16
   5: core::ops::function::FnOnce::call_once
             at /rustc/H/library/core/src/ops/function.rs:250:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
""".replace("/rustc/H/", "/rustc/3f5fd8dd41153bc5fdca9427e9e05be2c767ba23/")


def test_a_rust_panic_with_a_backtrace_skips_the_standard_library(tmp_path: Path) -> None:
    failure = parsed(RUST_BACKTRACE)
    assert failure.kind == "rust"
    assert failure.frames[0].path.startswith("/rustc/")
    assert [f.function for f in failure.frames][1:3] == ["demo::main", "demo::parse::port"]
    assert failure.message == (
        "panicked at src/parse.rs:20:31: called `Result::unwrap()` on an `Err` value:"
        " ParseIntError { kind: InvalidDigit }"
    )
    parse_rs = write(tmp_path, "src/parse.rs")
    write(tmp_path, "src/main.rs")
    found = innermost_in(failure, resolver([tmp_path]))
    assert found is not None
    assert found[1] == parse_rs
    assert (found[0].line, found[0].column, found[0].function) == (20, 31, "demo::parse::port")


def test_a_rust_panic_without_a_backtrace_is_its_place() -> None:
    text = """\
   Compiling demo v0.1.0 (/home/u/demo)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.41s
     Running `target/debug/demo`
thread 'main' panicked at src/main.rs:5:13:
index out of bounds: the len is 3 but the index is 5
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""
    failure = parsed(text)
    assert places(failure) == [("src/main.rs", 5, 13, None)]
    assert failure.message == (
        "panicked at src/main.rs:5:13: index out of bounds: the len is 3 but the index is 5"
    )


def test_the_older_rust_panic_form_is_read() -> None:
    text = (
        "thread 'tests::adds' panicked at 'assertion failed: `(left == right)`\n"
        "  left: `4`,\n right: `5`', src/lib.rs:12:9\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
    )
    failure = parsed(text)
    assert places(failure) == [("src/lib.rs", 12, 9, None)]
    assert failure.message.startswith("panicked at src/lib.rs:12:9: assertion failed")
    assert failure.message.endswith("right: `5`")


TRACE = "std::backtrace_rs::backtrace::trace_unsynchronized"


def test_a_full_rust_backtrace_drops_addresses_and_hashes() -> None:
    text = """\
thread 'main' panicked at src/main.rs:4:5:
boom
stack backtrace:
   0:     0x55d4c1a2b3c1 - std::backtrace_rs::backtrace::trace_unsynchronized::h0c3f54e4a2b1f2a9
                               at /rustc/H/library/std/src/../../backtrace/src/backtrace/mod.rs:66:5
  13:     0x55d4c1a0f1e2 - demo::main::h9a8b7c6d5e4f3a2b
                               at /home/u/demo/src/main.rs:4:5
  14:     0x55d4c1a0f2b3 - __libc_start_main
  15:     0x55d4c1a0f3c4 - _start
"""
    failure = parsed(text)
    assert places(failure) == [
        ("/home/u/demo/src/main.rs", 4, 5, "demo::main"),
        ("/rustc/H/library/std/src/../../backtrace/src/backtrace/mod.rs", 66, 5, TRACE),
        ("src/main.rs", 4, 5, None),  # the panic's place, spelled otherwise: innermost
    ]
    assert failure.message == "panicked at src/main.rs:4:5: boom"


# Go

GO_PANIC = """\
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.pick(...)
\t/home/u/proj/pick.go:8
main.(*Shop).Run(0xc000012345, {0x4b2e10?, 0x3})
\t/home/u/proj/shop.go:21 +0x1d
main.main()
\t/home/u/proj/main.go:12 +0x18
exit status 2
"""


def test_a_go_panic_is_reversed_to_outermost_first() -> None:
    failure = parsed(GO_PANIC)
    assert failure.kind == "go"
    assert places(failure) == [
        ("/home/u/proj/main.go", 12, None, "main.main"),
        ("/home/u/proj/shop.go", 21, None, "main.(*Shop).Run"),
        ("/home/u/proj/pick.go", 8, None, "main.pick"),
    ]
    assert failure.message == "panic: runtime error: index out of range [5] with length 3"


def test_a_go_panic_skips_goroot_and_other_goroutines(tmp_path: Path) -> None:
    text = f"""\
panic: assignment to entry in nil map

goroutine 7 [running]:
sync.(*Once).doSlow(0xc0000a4000, 0xc0000b2000)
\t/usr/local/go/src/sync/once.go:74 +0xc2
{tmp_path.name}/store.(*Cache).Put(...)
\t{tmp_path}/store/cache.go:30
created by main.main in goroutine 1
\t{tmp_path}/main.go:15 +0x66

goroutine 1 [chan receive]:
main.main()
\t{tmp_path}/main.go:17 +0x7a
"""
    cache = write(tmp_path, "store/cache.go")
    write(tmp_path, "main.go")
    failure = parsed(text)
    assert [f.line for f in failure.frames] == [15, 30, 74]
    assert failure.frames[0].function == "main.main"
    found = innermost_in(failure, resolver([tmp_path]))
    assert found is not None
    assert (found[0].line, found[1]) == (30, cache)


def test_a_failed_go_test_points_at_its_line(tmp_path: Path) -> None:
    text = """\
=== RUN   TestTotal
    cart_test.go:14: Total() = 7, want 9
--- FAIL: TestTotal (0.00s)
FAIL
FAIL\texample.com/shop/cart\t0.002s
"""
    test_file = write(tmp_path, "cart/cart_test.go")
    failure = parsed(text)
    assert places(failure) == [("cart_test.go", 14, None, None)]
    assert failure.message == "Total() = 7, want 9"
    assert innermost_in(failure, resolver([tmp_path])) == (failure.frames[0], test_file)


# Java

JAVA = """\
Exception in thread "main" java.lang.IllegalStateException: cannot total the cart
\tat com.acme.shop.Cart.total(Cart.java:51)
\tat com.acme.shop.Main.main(Main.java:9)
Caused by: java.lang.RuntimeException: price lookup failed
\tat com.acme.shop.Prices.of(Prices.java:30)
\tat com.acme.shop.Cart.total(Cart.java:47)
\t... 1 more
Caused by: java.lang.NumberFormatException: For input string: "4,50"
\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)
\tat java.base/java.lang.Integer.parseInt(Integer.java:662)
\tat com.acme.shop.Prices.parse(Prices.java:41)
\tat com.acme.shop.Prices.of(Prices.java:28)
\t... 2 more
"""


def test_java_picks_the_deepest_cause_with_the_frames_it_shares() -> None:
    failure = parsed(JAVA)
    assert failure.kind == "java"
    assert failure.message == 'java.lang.NumberFormatException: For input string: "4,50"'
    assert places(failure) == [
        ("com/acme/shop/Main.java", 9, None, "com.acme.shop.Main.main"),
        ("com/acme/shop/Cart.java", 47, None, "com.acme.shop.Cart.total"),
        ("com/acme/shop/Prices.java", 28, None, "com.acme.shop.Prices.of"),
        ("com/acme/shop/Prices.java", 41, None, "com.acme.shop.Prices.parse"),
        ("java/lang/Integer.java", 662, None, "java.lang.Integer.parseInt"),
        (
            "java/lang/NumberFormatException.java",
            67,
            None,
            "java.lang.NumberFormatException.forInputString",
        ),
    ]


def test_java_frames_are_found_by_package_and_file_name(tmp_path: Path) -> None:
    prices = write(tmp_path, "shop/src/main/java/com/acme/shop/Prices.java")
    write(tmp_path, "shop/src/main/java/com/acme/shop/Main.java")
    write(tmp_path, "shop/target/classes/com/acme/shop/Prices.java")  # a build's copy
    found = innermost_in(parsed(JAVA), resolver([tmp_path]))
    assert found is not None
    assert (found[0].line, found[0].function, found[1]) == (
        41,
        "com.acme.shop.Prices.parse",
        prices,
    )


def test_a_java_trace_without_causes_keeps_the_thread_message() -> None:
    text = """\
Exception in thread "main" java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds
\tat Main.last(Main.java:5)
\tat Main.main(Main.java:9)
"""
    failure = parsed(text)
    assert failure.message == "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds"
    assert places(failure) == [
        ("Main.java", 9, None, "Main.main"),
        ("Main.java", 5, None, "Main.last"),
    ]


def test_a_suppressed_exception_is_not_taken_for_the_cause() -> None:
    text = """\
java.io.IOException: write failed
\tat com.acme.Log.write(Log.java:20)
\tat com.acme.Main.main(Main.java:4)
\tSuppressed: java.io.IOException: close failed
\t\tat com.acme.Log.close(Log.java:33)
\t\t... 1 more
"""
    failure = parsed(text)
    assert failure.message == "java.io.IOException: write failed"
    assert [f.line for f in failure.frames] == [4, 20]


# The resolver


def test_relative_paths_are_tried_against_every_root_and_the_cwd(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    target = write(second, "pkg/mod.py")
    assert resolver([first, second])("pkg/mod.py") == target
    assert resolver([first, second])("./pkg/mod.py") == target
    assert resolver([second], cwd=second / "pkg")("mod.py") == target


def test_a_path_that_ends_a_workspace_path_is_found(tmp_path: Path) -> None:
    lib = write(tmp_path, "crates/demo/src/lib.rs")
    assert resolver([tmp_path])("src/lib.rs") == lib
    assert resolver([tmp_path])("other/lib.rs") is None


def test_dot_dot_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "inside.py")
    write(tmp_path, "secret.py")
    resolve = resolver([root])
    assert resolve("../secret.py") is None
    assert resolve(f"{root}/../secret.py") is None


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = write(tmp_path / "elsewhere", "lib/secret.py")
    os.symlink(outside, root / "secret.py")
    os.symlink(outside.parent, root / "lib")
    resolve = resolver([root])
    assert resolve(f"{root}/secret.py") is None
    assert resolve("secret.py") is None
    assert resolve("lib/secret.py") is None
    text = (
        f'Traceback (most recent call last):\n  File "{root}/lib/secret.py", line 1, in f\nE: x\n'
    )
    assert innermost_in(parsed(text), resolve) is None


def test_absolute_paths_outside_the_roots_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "json/decoder.py")
    write(tmp_path, "other/json/decoder.py")
    resolve = resolver([root])
    assert resolve(f"{tmp_path}/other/json/decoder.py") is None
    assert resolve("/usr/lib/python3.11/json/decoder.py") is None


def test_names_that_are_not_files_resolve_to_nothing(tmp_path: Path) -> None:
    write(tmp_path, "main.py")
    resolve = resolver([tmp_path])
    too_long = "a/" * 3000 + "main.py"
    for name in ["<string>", "<frozen runpy>", "node:internal/main", "C:\\proj\\main.py", ""]:
        assert resolve(name) is None, name
    for name in [too_long, "/" + too_long, "main\0.py", "x" * 5000 + ".py"]:
        assert resolve(name) is None


def test_the_search_skips_hidden_and_vendored_folders(tmp_path: Path) -> None:
    write(tmp_path, ".hidden/pkg/util.py")
    write(tmp_path, "node_modules/pkg/util.py")
    write(tmp_path, "build/lib/pkg/util.py")
    assert resolver([tmp_path])("pkg/util.py") is None
    real = write(tmp_path, "src/pkg/util.py")
    assert resolver([tmp_path])("pkg/util.py") == real


# What is not a failure


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The build failed again at 10:30:15 yesterday, see the log for details.",
        "I think the bug is in parse.py around line 40: the loop never ends.",
        "Traceback (most recent call last):\n",
        "panic attacks are not go panics\n\ngoroutine leaks are a different topic",
    ],
)
def test_prose_is_no_failure(text: str) -> None:
    assert parse(text) is None


def test_windows_paths_and_crlf_do_not_break_the_reading() -> None:
    text = (
        "Traceback (most recent call last):\r\n"
        '  File "C:\\Users\\ana\\proj\\main.py", line 3, in <module>\r\n'
        "    run()\r\n"
        "RuntimeError: boom\r\n"
    )
    failure = parsed(text)
    assert places(failure) == [("C:\\Users\\ana\\proj\\main.py", 3, None, "<module>")]
    assert failure.message == "RuntimeError: boom"
    assert innermost_in(failure, resolver([Path.cwd()])) is None
