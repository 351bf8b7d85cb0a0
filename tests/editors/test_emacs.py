"""Hearth in a real Emacs through eglot, set up as editors/emacs/hearth.el does.

Emacs 28 with Debian's eglot 1.9 runs as a daemon on a private socket, in a
fresh home whose init.el is what editors/README.md tells a user to write. The
test drives it one step at a time with `emacsclient --eval`, through eglot's
own functions, as the commands a user runs would: `M-x eglot` in a copy of
the sample, a hover through eglot's eldoc function, the docstring action
picked in `M-x eglot-code-actions`, and the suggestion as a completion item
from eglot's `completion-at-point` function, chosen as a completion UI does.
What the run left (the buffers, the hover, *Messages*, eglot's event log, the
server's log) goes to .cache/editor-tests/emacs/.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lsp_server.inference import models
from tests.conftest import model_spec
from tests.e2e.conftest import patient_settings
from tests.editors.untrusted import Listener, folders_own_server, marker_script
from tests.pace import Pace, guard, wait_for
from tests.samples import BUGGY_STATS, SHIPPING, SHIPPING_UNDEFINED, STATS_TEST, project_tests

pytestmark = [pytest.mark.model, pytest.mark.editor]

ROOT = Path(__file__).resolve().parents[2]
HEARTH_EL = ROOT / "editors" / "emacs" / "hearth.el"
SAMPLE = ROOT / "examples" / "inventory.py"
SAMPLE_LINE = 22  # the empty line in `cheapest`, where `make run` asks too
UNDOCUMENTED = "\n\ndef discount(price, rate):\n    return price * (1 - rate)\n"
KEPT = ROOT / ".cache" / "editor-tests" / "emacs"
INSTALL = "`make .cache/emacs/.installed` installs Emacs 28 and eglot from Debian"

EARLY_INIT = """\
;; Emacs 28 compiles the Lisp it loads to native code in background processes,
;; which would take the CPU from the model.
(setq native-comp-deferred-compilation nil)
"""

INIT = """\
;;; What a user writes (editors/README.md), with a checkout's server.
(load {hearth_el})
(setq hearth-command '({command}))
;; Hearth's other settings, the eglot way.
(setq-default eglot-workspace-configuration
              (list :hearth (json-parse-string {settings} :object-type 'plist
                                               :false-object :json-false)))

;;; What only the test needs.
;; eglot gives up on an answer after 10 s (jsonrpc's limit); the model on a
;; slow or busy machine can take longer to write a docstring or a suggestion.
(with-eval-after-load 'jsonrpc
  (setq jsonrpc-default-request-timeout {request_timeout}))
(defvar hearth-test-hover nil "What eglot's hover gave eldoc, once it answered.")
"""

# What every test's init ends with: how it answers.
REPLY = """
(setq make-backup-files nil auto-save-default nil)
(defun hearth-test-reply (file value)
  "Write VALUE to FILE as JSON, for the test to read."
  (let ((coding-system-for-write 'utf-8))
    (with-temp-file file (insert (json-encode value)))))
"""

UNTRUSTED_INIT = """\
;;; What a user writes (editors/README.md): `hearth' from PATH, and their own
;;; settings, here a remote engine of theirs.
(load {hearth_el})
(setq hearth-settings '(:engine (:kind "remote" :url {engine} :timeoutMs 500)))

;;; What only the test needs.
(defvar hearth-test-asked nil "What Emacs asked the user to allow, and the user refused.")
;; The user's answer when Emacs asks whether to apply a .dir-locals.el's
;; variables that are not safe: no (`n').
(advice-add 'hack-local-variables-confirm :override
            (lambda (_all unsafe risky _dir)
              (setq hearth-test-asked
                    (append hearth-test-asked (mapcar #'car (append unsafe risky))))
              nil))
"""


# eglot's log of what went to and fro between it and the server.
EVENTS = r"""(mapconcat (lambda (buffer) (with-current-buffer buffer (buffer-string)))
                      (seq-filter (lambda (buffer)
                                    (string-match-p "\\*EGLOT.*events\\*" (buffer-name buffer)))
                                  (buffer-list))
                      "\n")"""


def lisp(text: str) -> str:
    """`text` as an Emacs Lisp string (JSON's escapes are also Lisp's)."""
    return json.dumps(text)


class EmacsError(Exception):
    """emacsclient failed: Emacs signalled an error, or did not answer."""


class Emacs:
    """An Emacs daemon with Hearth set up, and what a test asks of it."""

    def __init__(self, client: str, socket: Path, base: Path) -> None:
        self.client = client
        self.socket = socket
        self.reply = base / "reply.json"
        self.output = base / "emacs-output.txt"  # the daemon's stdout and stderr
        self.server_log = base / "hearth.log"
        self.project = base / "project"

    def ask(self, form: str, timeout: float) -> Any:
        """The value of `form`, through JSON; EmacsError if Emacs failed on it."""
        self.reply.unlink(missing_ok=True)
        wrapped = f"(hearth-test-reply {lisp(str(self.reply))} (progn {form}))"
        command = [self.client, "--socket-name", str(self.socket), "--eval", wrapped]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EmacsError(f"no answer in {timeout:.0f} s to:\n{form}") from None
        if done.returncode != 0 or not self.reply.exists():
            raise EmacsError(f"{done.stderr.strip()}\nin:\n{form}")
        return json.loads(self.reply.read_text(encoding="utf-8"))

    def eval(self, form: str, timeout: float = 30.0) -> Any:
        """The value of the Lisp `form` in Emacs, through JSON."""
        try:
            return self.ask(form, guard(timeout))
        except EmacsError as error:
            raise AssertionError(f"Emacs failed: {error}\n{self.context()}") from None

    def at(self, path: Path, form: str, timeout: float = 30.0) -> Any:
        """`form` evaluated in the buffer visiting `path`."""
        return self.eval(
            f"(with-current-buffer (find-file-noselect {lisp(str(path))}) {form})", timeout
        )

    def context(self) -> str:
        """The ends of *Messages*, of Emacs's output and of the server's log: for a failure."""
        try:
            messages = self.ask('(with-current-buffer "*Messages*" (buffer-string))', 10)
        except EmacsError as error:
            messages = f"(not readable: {error})"
        parts = [("*Messages*", str(messages))]
        parts += [
            (path.name, path.read_text())
            for path in (self.output, self.server_log)
            if path.exists()
        ]
        return "\n".join(f"--- {name}:\n{text[-3000:]}" for name, text in parts)

    def copy_sample(self, name: str, extra: str = "") -> Path:
        path = self.project / name
        path.write_text(SAMPLE.read_text() + extra)
        return path

    def open(self, path: Path) -> None:
        """Show `path` in the window (eglot answers hovers only for a shown buffer),
        managed by eglot (a Python buffer of the project joins the running server)."""
        self.eval(f"(switch-to-buffer (find-file-noselect {lisp(str(path))})) t")
        wait_for(lambda: self.at(path, "eglot--managed-mode"), f"eglot to manage {path.name}")

    def text(self, path: Path) -> str:
        text: str = self.at(path, "(buffer-substring-no-properties (point-min) (point-max))")
        return text

    def stats(self, path: Path) -> dict[str, Any]:
        """Hearth's `hearth.stats`, asked through eglot."""
        stats: dict[str, Any] = self.at(
            path, "(eglot-execute-command (eglot--current-server-or-lose) 'hearth.stats [])"
        )
        return stats

    def wait_in_step(self, path: Path) -> None:
        """Until Hearth's copy of `path` is the buffer's text: eglot sent the edits."""
        digest = hashlib.sha256(self.text(path).encode()).hexdigest()

        def in_step() -> bool:
            documents = self.stats(path)["documents"]
            return any(
                d["uri"].endswith("/" + path.name) and d["sha256"] == digest for d in documents
            )

        wait_for(in_step, f"Hearth's copy of {path.name} to be the buffer's", timeout=20)

    def keep(self, name: str, text: str) -> None:
        """Keep `text` in .cache/editor-tests/emacs/ for whoever reads the run."""
        (KEPT / name).write_text(text)


def process_alive(pid: int, name: str) -> bool:
    try:
        return name in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def binaries() -> dict[str, str]:
    found = {name: shutil.which(name) for name in ("emacs", "emacsclient")}
    for name, path in found.items():
        if path is None:
            pytest.fail(f"{name} not found: {INSTALL}")
    return {name: str(path) for name, path in found.items()}


@contextlib.contextmanager
def daemon(base: Path, init: str, env: dict[str, str]) -> Iterator[Emacs]:
    """An Emacs daemon whose home, in `base`, has `init` as init.el, running
    in `base/project` with `env` (the rest of this process's environment);
    asked to shut eglot's servers down and quit at the end."""
    home = base / "home"
    (home / ".emacs.d").mkdir(parents=True)
    sockets = base / "sockets"
    sockets.mkdir(mode=0o700)  # Emacs's server wants its socket's folder private
    programs = binaries()
    emacs = Emacs(programs["emacsclient"], sockets / "server", base)
    emacs.project.mkdir(exist_ok=True)
    (home / ".emacs.d" / "early-init.el").write_text(EARLY_INIT)
    (home / ".emacs.d" / "init.el").write_text(init + REPLY)
    # A home of its own: the user's init stays out, and nothing is written in theirs.
    env = {**os.environ, "HOME": str(home), **env}
    with emacs.output.open("w") as output:
        process = subprocess.Popen(
            [programs["emacs"], f"--fg-daemon={emacs.socket}"],
            cwd=emacs.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"Emacs exited with {process.returncode}\n{emacs.context()}")
            with contextlib.suppress(EmacsError):
                return bool(emacs.ask("t", 5))
            return False

        wait_for(answers, "the Emacs daemon", timeout=30)
        if emacs.eval('(locate-library "eglot")') is None:
            pytest.fail(f"eglot not found: {INSTALL}")
        yield emacs
    finally:
        with contextlib.suppress(EmacsError):
            emacs.ask("(eglot-shutdown-all) t", guard(20))  # politely: shutdown, exit
        with contextlib.suppress(subprocess.TimeoutExpired):  # it exits before it can answer
            subprocess.run(
                [emacs.client, "--socket-name", str(emacs.socket), "--eval", "(kill-emacs)"],
                capture_output=True,
                timeout=10,
            )
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def emacs(tmp_path_factory: pytest.TempPathFactory, pace: Pace) -> Iterator[Emacs]:
    """Emacs as a daemon, connected by eglot to Hearth in the sample, the model loaded."""
    server = Path(sys.executable).parent / "hearth"  # the console script a user runs
    if not server.exists():
        pytest.fail(f"{server} not found: `make` installs Hearth into .venv")
    base = tmp_path_factory.mktemp("emacs")
    server_log = base / "hearth.log"
    shutil.rmtree(KEPT, ignore_errors=True)  # only this run's files
    KEPT.mkdir(parents=True)

    # Limits no busy machine reaches: the test is about the editor.
    settings = patient_settings()
    settings["completion"]["maxTokens"] = 48
    settings["log"] = {"level": "debug"}
    command = [str(server), "--log-file", str(server_log)]
    init = INIT.format(
        hearth_el=lisp(str(HEARTH_EL)),
        command=" ".join(map(lisp, command)),
        settings=lisp(json.dumps(settings)),
        request_timeout=round(guard(90)),
    )
    env = {
        # The server inherits Emacs's environment: the model, where it is kept.
        "HEARTH_MODEL": model_spec(),
        "HEARTH_CACHE_DIR": str(models.cache_dir()),
    }
    hearth_pid: int | None = None
    try:
        with daemon(base, init, env) as emacs:
            try:
                sample = emacs.copy_sample("inventory.py")
                emacs.eval(f"(switch-to-buffer (find-file-noselect {lisp(str(sample))})) t")
                emacs.at(sample, "(call-interactively #'eglot) t")  # M-x eglot, as the README says
                wait_for(
                    lambda: emacs.at(
                        sample,
                        "(and (eglot-current-server) (jsonrpc-running-p (eglot-current-server)))",
                    ),
                    "eglot to connect",
                )
                hearth_pid = emacs.at(
                    sample, "(process-id (jsonrpc--process (eglot-current-server)))"
                )
                wait_for(lambda: emacs.stats(sample)["modelState"] == "ready", "the model to load")
                yield emacs
            finally:
                with contextlib.suppress(EmacsError):  # what eglot saw, before the shutdown
                    emacs.keep(
                        "messages.txt",
                        emacs.ask('(with-current-buffer "*Messages*" (buffer-string))', 10),
                    )
                    emacs.keep("eglot-events.txt", emacs.ask(EVENTS, 10))
    finally:
        for path in (base / "emacs-output.txt", server_log):
            if path.exists():
                shutil.copyfile(path, KEPT / path.name)
        (KEPT / "init.el").write_text(init)
    if hearth_pid is not None:
        deadline = time.monotonic() + 10
        while process_alive(hearth_pid, "hearth") and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_alive(hearth_pid, "hearth"):
            os.kill(hearth_pid, signal.SIGKILL)
            raise AssertionError("Hearth was still running 10 s after Emacs quit")


def test_eglot_starts_hearth_with_the_settings_and_the_model_loads(emacs: Emacs) -> None:
    sample = emacs.project / "inventory.py"
    server = emacs.at(
        sample,
        """(let ((server (eglot-current-server)))
             (list :running (jsonrpc-running-p server)
                   :info (eglot--server-info server)
                   :languageId (eglot--language-id server)
                   :command (vconcat (process-command (jsonrpc--process server)))))""",
    )
    assert server["running"], emacs.context()
    assert server["info"]["name"] == "hearth", server
    assert server["languageId"] == "python", server  # what hearth.el names the language
    assert Path(server["command"][0]).name == "hearth", server
    stats = emacs.stats(sample)
    assert stats["modelState"] == "ready", stats
    # hearth.el's initializationOptions, and the test's eglot-workspace-configuration.
    assert stats["settings"]["completion"]["completionItems"] is True, stats["settings"]
    assert stats["settings"]["completion"]["maxTokens"] == 48, stats["settings"]


def test_hover_shows_hearths_explanation(emacs: Emacs) -> None:
    path = emacs.copy_sample("hover.py")
    emacs.open(path)
    emacs.at(
        path,
        """(setq hearth-test-hover nil)
           (goto-char (point-min))
           (search-forward "def total_")  ; in the function's name
           ;; What eldoc calls when the cursor rests; it hands the text to a callback.
           (eglot-hover-eldoc-function (lambda (info &rest _) (setq hearth-test-hover (list info))))
           t""",
    )
    answer = wait_for(lambda: emacs.eval("hearth-test-hover"), "eglot's hover", timeout=120)
    shown = answer[0] or ""
    emacs.keep("hover.txt", shown)
    assert "total_value" in shown, f"{shown!r}\n{emacs.context()}"
    # Plain text: eglot without markdown-mode asks for it, and Hearth sends it.
    heading, signature, *rest = shown.split("\n\n")
    assert heading == "function total_value · Hearth", shown
    assert signature.startswith("def total_value("), shown
    # After what the code says (the signature, the docstring's first line),
    # the model's words: their length and wording are its own.
    doc = "Return the value of all items in stock."
    explanation = [part for part in rest if part.strip() and part != doc]
    assert explanation, shown
    assert "writing an explanation" not in explanation[-1], "the tests' limit waits for it"


def test_docstring_action_from_eglot_code_actions_edits_the_buffer(emacs: Emacs) -> None:
    path = emacs.copy_sample("docstring.py", UNDOCUMENTED)
    before = path.read_text()
    emacs.open(path)
    offered = emacs.at(
        path,
        """(goto-char (point-min))
           (search-forward "return price")  ; in `discount'
           (let ((offered nil)
                 ;; As after a key (RET), not a click: eglot asks in the minibuffer.
                 (last-nonmenu-event 13))
             ;; The user's answer to eglot's menu: the docstring action, by its title.
             (cl-letf (((symbol-function 'completing-read)
                        (lambda (_prompt actions &rest _)
                          (setq offered (mapcar #'car actions))
                          (or (seq-find (lambda (title)
                                          (string-match-p "docstring for discount" title))
                                        offered)
                              (error "No docstring action among %S" offered)))))
               (eglot-code-actions (point) nil nil t))
             (vconcat offered))""",
        timeout=150,  # eglot 1.9 cannot resolve an action: the model writes during the request
    )
    text = emacs.text(path)
    emacs.keep("docstring.py", text)
    assert any("docstring for discount" in title and "Hearth" in title for title in offered), (
        offered
    )
    discount = next(
        node
        for node in ast.parse(text).body  # still parses
        if isinstance(node, ast.FunctionDef) and node.name == "discount"
    )
    docstring = ast.get_docstring(discount)
    assert docstring, f"no docstring:\n{text}\n{emacs.context()}"
    assert "price" in docstring, docstring
    assert "rate" in docstring, docstring
    # Only the docstring was added: the code before and after is as it was.
    head = before.split("    return price")[0]
    assert text.startswith(head), text
    assert text.endswith("    return price * (1 - rate)\n"), text
    emacs.wait_in_step(path)


def test_hearth_fix_fixes_a_diagnostic_of_another_flymake_backend(emacs: Emacs) -> None:
    path = emacs.project / "shipping.py"
    path.write_text(SHIPPING_UNDEFINED)
    emacs.open(path)
    # A linter of the user's, not eglot's: eglot-code-actions would not pass it on.
    emacs.at(
        path,
        """(defun hearth-test-linter (report &rest _)
             (save-excursion
               (goto-char (point-min))
               (search-forward "else bse")
               (funcall report (list (flymake-make-diagnostic
                                      (current-buffer) (- (point) 3) (point)
                                      :error "undefined name 'bse'")))))
           (add-hook 'flymake-diagnostic-functions #'hearth-test-linter nil t)
           (flymake-start)
           t""",
    )
    wait_for(
        lambda: emacs.at(
            path,
            """(seq-some (lambda (d) (eq (flymake-diagnostic-backend d) 'hearth-test-linter))
                         (flymake-diagnostics))""",
        ),
        "the linter's diagnostic",
    )
    emacs.at(
        path,
        """(goto-char (point-min))
           (search-forward "else bse")
           (hearth-fix)
           t""",
        timeout=150,  # eglot 1.9 cannot resolve an action: the model writes during the request
    )
    text = emacs.text(path)
    emacs.keep("shipping.py", text)
    if text == SHIPPING_UNDEFINED:  # none found: said so
        messages = emacs.eval('(with-current-buffer "*Messages*" (buffer-string))')
        assert "Hearth: found no fix" in messages, emacs.context()
        return
    compile(text, "shipping.py", "exec", dont_inherit=True)
    assert text.startswith("import math\n\n\ndef shipping_cost("), text
    assert text.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), text
    emacs.wait_in_step(path)


def edit_in_emacs(emacs: Emacs, path: Path, instruction: str, answer: str) -> str | None:
    """`hearth-edit` at the function in `path`, answering its question with
    `answer` ("t" or "nil"); the diff it showed, None when Hearth said it
    wrote none."""
    emacs.at(
        path,
        f"""(setq hearth-test-diff nil)
           (goto-char (point-min))
           (search-forward "base = ")
           (undo-boundary)  ; as the command loop puts one before each command
           (cl-letf (((symbol-function 'y-or-n-p)
                      (lambda (&rest _)
                        (setq hearth-test-diff
                              (with-current-buffer "*hearth-edit*" (buffer-string)))
                        {answer})))
             (hearth-edit {lisp(instruction)}))
           t""",
        timeout=200,
    )
    diff: str | None = emacs.eval("hearth-test-diff")
    if diff is None:
        messages = emacs.eval('(with-current-buffer "*Messages*" (buffer-string))')
        assert "no edit was written" in messages, emacs.context()
    return diff


def test_hearth_edit_shows_a_diff_then_applies_or_drops_the_edit(emacs: Emacs) -> None:
    path = emacs.project / "pricing.py"
    path.write_text(SHIPPING)
    emacs.open(path)
    emacs.eval("(defvar hearth-test-diff nil) t")
    diff = edit_in_emacs(emacs, path, "rename the variable base to cost", "t")
    if diff is not None:
        emacs.keep("edit.diff", diff)
        assert "\n-    base = 4.5" in diff, diff
        text = emacs.text(path)
        emacs.keep("pricing.py", text)
        compile(text, "pricing.py", "exec", dont_inherit=True)
        assert text != SHIPPING
        assert text.startswith("import math\n\n\ndef shipping_cost("), text
        assert text.endswith("\n\n\nprint(shipping_cost(2.0, True))\n"), text
        # One step back: what the command loop's `undo` does, to the last boundary.
        emacs.at(path, "(primitive-undo 1 buffer-undo-list) t")
        assert emacs.text(path) == SHIPPING, "one undo step takes the whole edit back"
        emacs.wait_in_step(path)
    before = emacs.text(path)
    diff = edit_in_emacs(emacs, path, "raise ValueError if weight_kg is negative", "nil")
    if diff is not None:
        assert "\n+" in diff, diff
        assert emacs.text(path) == before, "rejected: the buffer is as it was"


def test_hearth_fix_failure_fixes_a_failure_in_the_region_where_it_happened(
    emacs: Emacs,
) -> None:
    stats = emacs.project / "stats.py"
    stats.write_text(BUGGY_STATS)
    (emacs.project / "test_stats.py").write_text(STATS_TEST)
    failed = project_tests(emacs.project, "test_stats.py")
    assert failed.returncode == 1, failed.stdout
    output = emacs.project / "failure.txt"
    output.write_text(failed.stdout)
    emacs.open(emacs.project / "test_stats.py")  # a Python buffer: Hearth runs
    emacs.eval(
        f"""(with-current-buffer (find-file-noselect {lisp(str(output))})
              ;; A text buffer eglot does not manage, as a shell or *compilation* is.
              (cl-letf (((symbol-function 'y-or-n-p) (lambda (&rest _) t)))
                (hearth-fix-failure (point-min) (point-max))))
            t""",
        timeout=200,
    )
    text = emacs.text(stats)
    assert text != BUGGY_STATS, emacs.context()
    emacs.at(stats, "(save-buffer) t")
    passed = project_tests(emacs.project, "test_stats.py")
    assert passed.returncode == 0, (text, passed.stdout)


def test_suggestion_comes_as_a_completion_item_and_eglot_inserts_it(emacs: Emacs) -> None:
    path = emacs.copy_sample("completion.py")
    before = path.read_text()
    emacs.open(path)
    result = emacs.at(
        path,
        f"""(goto-char (point-min))
            (forward-line {SAMPLE_LINE - 1})
            (end-of-line)  ; after the indentation
            (pcase-let* ((`(,beg ,end ,collection . ,props) (eglot-completion-at-point))
                         (candidates (all-completions "" collection))
                         (items (mapcar (lambda (candidate)
                                          (get-text-property 0 'eglot--lsp-item candidate))
                                        candidates))
                         (cursor (1- (point))))
              ;; Choose the first, as a completion UI does: insert it, then
              ;; eglot's exit function puts the item's edit in its place.
              (when candidates
                (delete-region beg end)
                (goto-char beg)
                (insert (car candidates))
                (funcall (plist-get props :exit-function) (car candidates) 'finished))
              (list :cursor cursor :items (vconcat items) :point (1- (point))))""",
        timeout=150,
    )
    text = emacs.text(path)
    emacs.keep("completion.py", text)
    items = result["items"]
    assert items, f"no completion item at line {SAMPLE_LINE}\n{emacs.context()}"
    assert all("Hearth" in item["detail"] for item in items), items
    edit = items[0]["textEdit"]
    suggestion = edit["newText"]
    assert suggestion.strip(), items[0]
    # The item's edit starts at the cursor, and is what the buffer now holds there.
    lines = before.split("\n")
    start = sum(len(line) + 1 for line in lines[: edit["range"]["start"]["line"]])
    start += edit["range"]["start"]["character"]
    end = sum(len(line) + 1 for line in lines[: edit["range"]["end"]["line"]])
    end += edit["range"]["end"]["character"]
    assert start == result["cursor"], (edit, result["cursor"])
    assert text == before[:start] + suggestion + before[end:], text
    assert result["point"] == start + len(suggestion), "the cursor ends after the insertion"
    ast.parse(text)
    emacs.wait_in_step(path)


def test_a_folders_dir_locals_run_nothing_and_send_the_code_nowhere(tmp_path: Path) -> None:
    """Two folders: one whose .dir-locals.el sets `hearth-command` to a program
    it ships (beside its own .venv/bin/hearth), one whose .dir-locals.el sets
    eglot's workspace configuration (a safe local variable: no question) to a
    remote engine of its own. The user declines what Emacs asks; `hearth`
    from PATH runs, with the user's own engine, in both."""
    markers = tmp_path / "markers"
    markers.mkdir()
    base = tmp_path / "emacs"
    commanding, configuring = base / "project" / "commanding", base / "project" / "configuring"
    folders_own_server(commanding, markers)
    command = marker_script(commanding / "tools" / "hearth", markers / "dir-locals-command-ran")
    dir_locals = f"((nil . ((hearth-command . ({lisp(str(command))})))))\n"
    (commanding / ".dir-locals.el").write_text(dir_locals)
    server = Path(sys.executable).parent / "hearth"  # `hearth` on PATH: this checkout's

    def ran() -> list[str]:
        return sorted(path.name for path in markers.iterdir())

    def connect(emacs: Emacs, folder: Path) -> list[str]:
        """M-x eglot in a file of `folder`: the command eglot started."""
        sample = folder / "sample.py"
        sample.write_text(SAMPLE.read_text())
        emacs.eval(f"(switch-to-buffer (find-file-noselect {lisp(str(sample))})) t")
        # A server that exits at once fails eglot's connection: the marker says why.
        emacs.at(sample, "(ignore-errors (call-interactively #'eglot)) t")
        running = "(and (eglot-current-server) (jsonrpc-running-p (eglot-current-server)))"
        wait_for(lambda: ran() or emacs.at(sample, running), "eglot to connect", timeout=30)
        assert ran() == [], "a program of the folder ran"
        process = "(vconcat (process-command (jsonrpc--process (eglot-current-server))))"
        started: list[str] = emacs.at(sample, process)
        return started

    with Listener() as mine, Listener() as theirs:
        configuring.mkdir(parents=True)
        (configuring / ".dir-locals.el").write_text(
            '((nil . ((eglot-workspace-configuration . (:hearth (:engine (:kind "remote" '
            f':url {lisp(theirs.url)}) :model (:path "their.gguf") '
            ":completion (:maxTokens 17)))))))\n"
        )
        init = UNTRUSTED_INIT.format(hearth_el=lisp(str(HEARTH_EL)), engine=lisp(mine.url))
        path = f"{server.parent}{os.pathsep}{os.environ['PATH']}"
        with daemon(base, init, {"PATH": path}) as emacs:
            assert connect(emacs, commanding) == ["hearth"]  # from PATH
            # Asked (each time Emacs reads the folder's variables), and refused.
            assert set(emacs.eval("hearth-test-asked")) == {"hearth-command"}, "Emacs asked"
            assert connect(emacs, configuring) == ["hearth"]
            wait_for(lambda: mine.connections >= 2 or theirs.connections, "the engines", timeout=30)
            assert theirs.connections == 0, "the folder's engine.url was contacted"
            settings = emacs.stats(configuring / "sample.py")["settings"]
            assert settings["completion"]["maxTokens"] == 17, "the folder's other settings count"
            assert settings["engine"]["url"] == mine.url, settings["engine"]
            assert settings["model"]["path"] is None, settings["model"]
    assert ran() == [], "a program of the folder ran"
