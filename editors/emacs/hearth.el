;;; hearth.el --- Hearth, a local code-completion server, for eglot  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: Apache-2.0

;; Version: 0.1.0
;; Package-Requires: ((emacs "26.1") (eglot "1.9"))
;; Keywords: languages, tools, convenience

;;; Commentary:

;; Hearth is a language server that suggests code, explains functions on
;; hover and writes docstrings with a model running on your own machine.
;; This file registers it with eglot:
;;
;;   (add-to-list 'load-path "/path/to/hearth/editors/emacs")
;;   (require 'hearth)
;;   ;; only with a checkout rather than `hearth' on PATH:
;;   (setq hearth-command '("/path/to/hearth/.venv/bin/hearth"))
;;   ;; optional, to start it when a file is opened (else M-x eglot):
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; eglot has no inline completion, so Hearth sends its suggestion as a
;; completion item too: C-M-i (`completion-at-point'), or company or
;; corfu.  Hover explanations come through eldoc (the echo area, or
;; M-x eldoc-doc-buffer); docstrings and fixes are in M-x
;; eglot-code-actions, and M-x hearth-fix fixes the diagnostics on the
;; line from every flymake backend.  M-x hearth-edit changes the region,
;; or the function at point, as you say ("add type hints"): it shows the
;; change as a diff and applies it, one undo step, if you say yes.
;; M-x hearth-fix-failure does the same for a failure in the region (a
;; traceback, test output), in the file where it happened.
;;
;; eglot gives a buffer one server: in `hearth-major-modes' (Python by
;; default) Hearth takes the place of your usual one (pylsp, ...).
;; Each language gets its own Hearth process, with its own model in
;; memory: eglot 1.9 gives all the buffers of one server one languageId.
;;
;; Your settings (docs/settings.md) go in `hearth-settings', sent when the
;; server starts; they may choose the model and a remote engine:
;;
;;   (setq hearth-settings '(:model (:path "small") :completion (:maxTokens 64)))
;;
;; A project's .dir-locals.el may set `eglot-workspace-configuration'
;; (eglot takes it without asking), but not the model nor the engine:
;; Hearth ignores those there.  An opened folder is not trusted: Emacs
;; asks before a .dir-locals.el may set `hearth-command' or
;; `hearth-settings', and Hearth never runs a server the folder contains
;; (its .venv/bin/hearth) unless `hearth-command' names it.
;;
;;   ((nil . ((eglot-workspace-configuration
;;             . (:hearth (:completion (:maxTokens 64)))))))

;;; Code:

(require 'cl-lib)

(defvar eglot-server-programs)

(defgroup hearth nil
  "Hearth, a local code-completion language server, through eglot."
  :group 'tools
  :prefix "hearth-")

(defcustom hearth-command '("hearth")
  "The command that starts Hearth, as a list: the program and its arguments.
The default finds `hearth' on PATH; with a checkout of Hearth, use
\\='(\"/path/to/hearth/.venv/bin/hearth\")."
  :type '(repeat string))
;; A program to run: a project's .dir-locals.el may not set it unasked, nor
;; may the user's answer mark it safe for good.
(put 'hearth-command 'risky-local-variable t)

(defcustom hearth-settings nil
  "Hearth's settings (docs/settings.md), a plist, sent when the server starts.
They are yours, so they may choose the model and a remote engine, which a
project's `eglot-workspace-configuration' cannot:
  (setq hearth-settings \\='(:engine (:kind \"remote\" :url \"http://gpu-box:8080\")))
Changed, they count from the next start (\\[eglot-reconnect])."
  :type 'plist)
(put 'hearth-settings 'risky-local-variable t)

(defconst hearth-language-ids
  '((python-mode . "python") (python-ts-mode . "python")
    (js-mode . "javascript") (js-ts-mode . "javascript")
    (typescript-mode . "typescript") (typescript-ts-mode . "typescript")
    (tsx-ts-mode . "typescriptreact")
    (rust-mode . "rust") (rust-ts-mode . "rust")
    (go-mode . "go") (go-ts-mode . "go")
    (c-mode . "c") (c-ts-mode . "c")
    (c++-mode . "cpp") (c++-ts-mode . "cpp")
    (java-mode . "java") (java-ts-mode . "java"))
  "The major modes of the languages Hearth reads, and the LSP languageId of each.
eglot would guess \"js\", \"c++\" or \"python-ts\" from the mode's name;
Hearth knows the languages by the names here.")

(defvar hearth-major-modes)

(defun hearth--options ()
  "Return `hearth-settings' asking for completion items, unless they say otherwise."
  (let ((completion (plist-get hearth-settings :completion)))
    (plist-put (copy-sequence hearth-settings) :completion
               (if (plist-member completion :completionItems)
                   completion
                 (append '(:completionItems t) completion)))))

(defun hearth--contact (&optional _interactive)
  "Return the contact for eglot: `hearth-command', with `hearth-settings'."
  ;; Read when eglot connects, so that a later `setq' counts.
  `(,@hearth-command :initializationOptions ,(hearth--options)))

(defun hearth--entries ()
  "Return `eglot-server-programs' entries for `hearth-major-modes', one a language."
  (let (by-language)
    (dolist (mode hearth-major-modes)
      (let* ((id (alist-get mode hearth-language-ids))
             (group (assoc (or id mode) by-language))
             (spec (if id (list mode :language-id id) mode)))
        (if group
            (setcdr group (append (cdr group) (list spec)))
          (push (list (or id mode) spec) by-language))))
    (mapcar (lambda (group) (cons (cdr group) #'hearth--contact))
            (nreverse by-language))))

(defun hearth-eglot-register ()
  "Put Hearth first in `eglot-server-programs' for `hearth-major-modes'.
Loading this file does it once eglot is loaded; call it again after
changing `hearth-major-modes' with `setq'."
  (interactive)
  (setq eglot-server-programs
        (append (hearth--entries)
                (cl-remove-if (lambda (entry) (eq (cdr entry) #'hearth--contact))
                              eglot-server-programs))))

;;; Fixes for every flymake backend's diagnostics.

;; eglot's `eglot-code-actions' passes a server only its own diagnostics;
;; `hearth-fix' passes Hearth every flymake diagnostic on the line (other
;; backends', eglot's), so "Hearth: fix" is offered on them all.  It calls
;; eglot 1.9's internal `eglot--current-server-or-lose',
;; `eglot--TextDocumentIdentifier', `eglot--pos-to-lsp-position' and
;; `eglot--read-execute-code-action' (what `eglot-code-actions' calls):
;; tests/editors/test_emacs.py's fix test breaks when they change.
(declare-function eglot--current-server-or-lose "eglot")
(declare-function eglot--TextDocumentIdentifier "eglot")
(declare-function eglot--pos-to-lsp-position "eglot")
(declare-function eglot--read-execute-code-action "eglot")
(declare-function jsonrpc-request "jsonrpc")
(declare-function diff-no-select "diff")
(declare-function flymake-diagnostics "flymake")
(declare-function flymake-diagnostic-beg "flymake")
(declare-function flymake-diagnostic-end "flymake")
(declare-function flymake-diagnostic-text "flymake")
(declare-function flymake-diagnostic-type "flymake")
(declare-function flymake-diagnostic-backend "flymake")
(declare-function flymake-diagnostic-data "flymake")

(defcustom hearth-fix-timeout 120
  "Seconds `hearth-fix' waits for the model to write a fix."
  :type 'integer)

(defun hearth--lsp-diagnostic (diagnostic)
  "DIAGNOSTIC, flymake's, as an LSP diagnostic: eglot's as the server sent it."
  (or (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data diagnostic)))
      (list :range (list :start (eglot--pos-to-lsp-position
                                 (flymake-diagnostic-beg diagnostic))
                         :end (eglot--pos-to-lsp-position
                               (flymake-diagnostic-end diagnostic)))
            :severity (pcase (flymake-diagnostic-type diagnostic)
                        ((or :error 'eglot-error) 1)
                        ((or :warning 'eglot-warning) 2)
                        (_ 3))
            :message (flymake-diagnostic-text diagnostic)
            :source (format "%s" (flymake-diagnostic-backend diagnostic)))))

(defun hearth-fix ()
  "Ask Hearth to fix the diagnostics on this line, from every flymake backend.
The model rewrites the function around them (seconds), and eglot applies
the fix, or asks which one when there are several."
  (interactive)
  (let* ((beg (line-beginning-position))
         (end (line-end-position))
         (diagnostics (mapcar #'hearth--lsp-diagnostic (flymake-diagnostics beg end))))
    (unless diagnostics
      (user-error "No diagnostic on this line to fix"))
    (let* ((server (eglot--current-server-or-lose))
           (actions
            (jsonrpc-request
             server :textDocument/codeAction
             (list :textDocument (eglot--TextDocumentIdentifier)
                   :range (list :start (eglot--pos-to-lsp-position beg)
                                :end (eglot--pos-to-lsp-position end))
                   :context (list :diagnostics (vconcat diagnostics)
                                  :only ["quickfix"]
                                  :triggerKind 1))
             :timeout hearth-fix-timeout))
           (fixes (cl-remove-if-not
                   (lambda (action)
                     (string-prefix-p "Hearth: fix" (plist-get action :title)))
                   (append actions nil))))
      (if fixes
          (eglot--read-execute-code-action fixes server "quickfix")
        (message "Hearth: found no fix here (see *Messages*)")))))

;;; Edits by instruction.

;; `hearth-edit' asks Hearth's `hearth.edit' to change the region, or the
;; function around point, as an instruction says.  The server proposes the
;; edit without applying it; eglot 1.9 has no diff of a server's edit to
;; confirm, so this shows one (`diff-no-select' of the buffer and the buffer
;; with the edit) and asks.  It calls eglot 1.9's internal
;; `eglot--apply-text-edits' (on a copy, for the diff) and
;; `eglot--apply-workspace-edit' (on the buffer: one undo step, refused
;; for a buffer that changed since): tests/editors/test_emacs.py's edit test
;; breaks when they change.
(declare-function eglot--apply-text-edits "eglot")
(declare-function eglot--apply-workspace-edit "eglot")

(defcustom hearth-edit-timeout 180
  "Seconds `hearth-edit' waits for the model to write an edit."
  :type 'integer)

(defun hearth--proposed-buffer (edit)
  "A new buffer holding the current buffer's text with EDIT made.
EDIT is the server's workspace edit, of this buffer alone."
  (let ((edits (plist-get (aref (plist-get edit :documentChanges) 0) :edits))
        (mode major-mode)
        (proposed (generate-new-buffer " *hearth-proposed*")))
    (copy-to-buffer proposed (point-min) (point-max))
    (with-current-buffer proposed
      (let ((inhibit-message t))
        (eglot--apply-text-edits edits))
      (ignore-errors (delay-mode-hooks (funcall mode))))
    proposed))

(defun hearth-edit (instruction)
  "Ask Hearth to change the region, or the function at point, as INSTRUCTION says.
The model rewrites those lines (seconds); the change shows as a diff, and
is applied, as one undo step, only if you say yes."
  (interactive (list (read-string (if (use-region-p)
                                      "Hearth, change the region: "
                                    "Hearth, change the function here: "))))
  (unless (string-match-p "[^ \t\n]" instruction)
    (user-error "Say what to change"))
  (let* ((server (eglot--current-server-or-lose))
         (beg (if (use-region-p) (region-beginning) (point)))
         (end (if (use-region-p) (region-end) (point)))
         (result
          (jsonrpc-request
           server :workspace/executeCommand
           (list :command "hearth.edit"
                 :arguments (vector (plist-get (eglot--TextDocumentIdentifier) :uri)
                                    (list :start (eglot--pos-to-lsp-position beg)
                                          :end (eglot--pos-to-lsp-position end))
                                    instruction))
           :timeout hearth-edit-timeout))
         (edit (plist-get result :edit)))
    (if (not edit)
        (message "Hearth: no edit was written (%s)"
                 (or (plist-get result :message) "cancelled"))
      (hearth--confirm-edit edit))))

(defun hearth--confirm-edit (edit)
  "Show EDIT, the server's edit of the current buffer, as a diff; apply it if told."
  (require 'diff)
  (let* ((proposed (hearth--proposed-buffer edit))
         (diff (diff-no-select (current-buffer) proposed nil t
                               (get-buffer-create "*hearth-edit*"))))
    (unwind-protect
        (progn
          (display-buffer diff)
          (if (y-or-n-p "Hearth: apply this edit? ")
              (eglot--apply-workspace-edit edit)
            (message "Hearth: edit rejected")))
      (kill-buffer proposed)
      (let ((window (get-buffer-window diff)))
        (when window (quit-window t window))))))

(declare-function eglot--uri-to-path "eglot")
(declare-function eglot-current-server "eglot")
(declare-function eglot--capabilities "eglot")
(defvar eglot--servers-by-project)

(defun hearth--server ()
  "The Hearth server of this buffer, else any running: a failure is often
in a buffer eglot does not manage (a shell, *compilation*).  Uses eglot
1.9's internal `eglot--servers-by-project' and `eglot--capabilities'."
  (or (eglot-current-server)
      (let (found)
        (maphash
         (lambda (_project servers)
           (dolist (server servers)
             (let ((commands (plist-get (plist-get (eglot--capabilities server)
                                                   :executeCommandProvider)
                                        :commands)))
               (when (and (not found) (seq-contains-p commands "hearth.fixFailure"))
                 (setq found server)))))
         eglot--servers-by-project)
        found)
      (user-error "Hearth is not running: open a file it serves first")))

(defun hearth-fix-failure (beg end)
  "Ask Hearth to fix the failure between BEG and END where it happened.
The region holds a failure: a Python traceback, pytest's output, a Node
stack, a Rust or Go panic, a Java stack trace.  Hearth finds its innermost
frame in a file of the workspace; that file is visited at the line, and
the fix shown as a diff, applied if you say yes."
  (interactive "r")
  (let* ((text (buffer-substring-no-properties beg end))
         (server (hearth--server))
         (result
          (jsonrpc-request server :workspace/executeCommand
                           (list :command "hearth.fixFailure" :arguments (vector text))
                           :timeout hearth-edit-timeout))
         (edit (plist-get result :edit)))
    (if (not edit)
        (message "Hearth: %s" (or (plist-get result :message) "cancelled"))
      (pop-to-buffer (find-file-noselect (eglot--uri-to-path (plist-get result :uri))))
      (goto-char (point-min))
      (forward-line (plist-get result :line))
      (hearth--confirm-edit edit))))

(defcustom hearth-major-modes '(python-mode python-ts-mode)
  "The major modes whose buffers eglot connects to Hearth.
Any of the modes in `hearth-language-ids'."
  :type `(set ,@(mapcar (lambda (entry) `(const ,(car entry))) hearth-language-ids))
  :set (lambda (symbol value)
         (set-default symbol value)
         (when (featurep 'eglot) (hearth-eglot-register))))

(with-eval-after-load 'eglot (hearth-eglot-register))

(provide 'hearth)
;;; hearth.el ends here
