"""Which files the workspace index reads: ignore rules, limits, links."""

from __future__ import annotations

import os
from pathlib import Path

from lsp_server.workspace.files import Walk, read_source, watched_globs


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _found(walk: Walk) -> list[str]:
    return [path.relative_to(walk.root).as_posix() for path in walk.files()]


def test_code_is_read_and_what_is_not_the_projects_own_is_not(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "app/main.py": "x = 1\n",
            "app/util.ts": "export const y = 2;\n",
            "app/notes.md": "# notes\n",
            "node_modules/lib/index.js": "module.exports = 1;\n",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/site.py": "x = 1\n",
            "build/gen.py": "x = 1\n",
            "pkg.egg-info/x.py": "x = 1\n",
            ".git/hooks/pre.py": "x = 1\n",
            "src/lib.rs": "fn main() {}\n",
        },
    )
    walk = Walk(tmp_path.resolve())
    assert _found(walk) == ["app/main.py", "app/util.ts", "src/lib.rs"]
    assert walk.admits(tmp_path / "app" / "main.py")
    assert not walk.admits(tmp_path / "env" / "lib" / "site.py")
    assert not walk.admits(tmp_path / "app" / "notes.md")


def test_gitignore_files_apply_below_their_folder_and_can_take_back(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "*_pb2.py\ngenerated/\n",
            "a/x_pb2.py": "x = 1\n",
            "a/keep.py": "x = 1\n",
            "generated/g.py": "x = 1\n",
            "b/.gitignore": "!y_pb2.py\nlocal.py\n",
            "b/y_pb2.py": "x = 1\n",
            "b/local.py": "x = 1\n",
            "local.py": "x = 1\n",
        },
    )
    walk = Walk(tmp_path.resolve())
    assert _found(walk) == ["local.py", "a/keep.py", "b/y_pb2.py"]
    names = ("a/x_pb2.py", "b/y_pb2.py", "b/local.py")
    assert [walk.admits(tmp_path / name) for name in names] == [False, True, False]


def test_the_users_exclude_globs_hold(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/x.py": "", "a/test_x.py": "", "fixtures/f.py": "", "y.py": ""})
    walk = Walk(tmp_path.resolve(), exclude=("test_*.py", "fixtures/"))
    assert _found(walk) == ["y.py", "a/x.py"]


def test_large_and_binary_files_are_left_out_and_counted(tmp_path: Path) -> None:
    _tree(tmp_path, {"big.py": "x = 1\n" * 1000, "blob.py": b"\x00\x01binary", "ok.py": "x = 1\n"})
    walk = Walk(tmp_path.resolve(), max_bytes=1000)
    assert _found(walk) == ["blob.py", "ok.py"]
    assert walk.skipped.too_big == 1
    assert read_source(tmp_path / "blob.py", walk.skipped) is None
    assert walk.skipped.binary == 1
    assert read_source(tmp_path / "ok.py") == "x = 1\n"


def test_a_link_out_of_the_folder_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _tree(outside, {"secret.py": "KEY = 1\n", "lib/mod.py": "x = 1\n"})
    root = tmp_path / "project"
    _tree(root, {"main.py": "x = 1\n", "real/inner.py": "y = 2\n"})
    os.symlink(outside / "secret.py", root / "secret.py")
    os.symlink(outside / "lib", root / "lib")
    os.symlink(root / "real" / "inner.py", root / "alias.py")
    walk = Walk(root.resolve())
    assert _found(walk) == ["main.py", "real/inner.py"]  # the link inside: where it really is
    assert walk.skipped.outside == 2
    assert not walk.admits(root / "secret.py")
    assert not walk.admits(root / "lib" / "mod.py")


def test_an_unreadable_folder_is_said_and_the_walk_goes_on(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/x.py": "", "b/y.py": ""})
    (tmp_path / "a").chmod(0)
    try:
        walk = Walk(tmp_path.resolve())
        found = _found(walk)
    finally:
        (tmp_path / "a").chmod(0o755)
    if os.geteuid() != 0:  # root reads everything
        assert found == ["b/y.py"]
        assert "a" in walk.skipped.unreadable[0]
    else:
        assert found == ["a/x.py", "b/y.py"]


def test_the_watched_globs_cover_every_language() -> None:
    globs = set(watched_globs())
    assert {"**/*.py", "**/*.ts", "**/*.rs", "**/*.go", "**/*.java", "**/*.h"} <= globs
