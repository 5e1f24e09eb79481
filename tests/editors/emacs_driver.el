;;; emacs_driver.el --- drive eglot + codestral-ls like a user, in emacs --batch  -*- lexical-binding: t; -*-
;; Opens $CODESTRAL_TEST_FILE (a Python file whose mode hook, from the README snippet, runs
;; eglot-ensure), lets eglot connect, puts the cursor after "ret" and runs completion-at-point.
;; Writes what it saw to $CODESTRAL_TEST_RESULT as JSON.  Every wait is bounded.
(require 'json)
(require 'cl-lib)

(defvar codestral-test--result nil)

(defun codestral-test--put (key value)
  (push (cons key value) codestral-test--result))

(defun codestral-test--finish (ok &optional error)
  (codestral-test--put 'ok (if ok t :json-false))
  (when error (codestral-test--put 'error error))
  (when (get-file-buffer (getenv "CODESTRAL_TEST_FILE"))
    (with-current-buffer (get-file-buffer (getenv "CODESTRAL_TEST_FILE"))
      (codestral-test--put 'buffer (buffer-substring-no-properties (point-min) (point-max)))))
  (with-temp-file (getenv "CODESTRAL_TEST_RESULT")
    (insert (json-encode codestral-test--result)))
  (ignore-errors (let ((server (with-current-buffer
                                   (get-file-buffer (getenv "CODESTRAL_TEST_FILE"))
                                 (eglot-current-server))))
                   (when server (eglot-shutdown server))))
  (kill-emacs 0))

(defun codestral-test--wait (what predicate seconds)
  "Process input until PREDICATE holds, or fail after SECONDS."
  (let ((deadline (+ (float-time) seconds)) value)
    (while (not (setq value (funcall predicate)))
      (when (> (float-time) deadline)
        (error "Timed out waiting for %s" what))
      (accept-process-output nil 0.05))
    value))

(condition-case err
    (progn
      (find-file (getenv "CODESTRAL_TEST_FILE"))
      (codestral-test--put 'mode (symbol-name major-mode))
      ;; eglot-ensure connects from the next command's post-command-hook.
      (run-hooks 'post-command-hook)
      (let ((server (codestral-test--wait "eglot to connect" #'eglot-current-server 20)))
        (codestral-test--put 'server (format "%s" (eieio-object-class-name server)))
        (codestral-test--put 'inline (if (eglot--server-capable :inlineCompletionProvider)
                                         t :json-false)))
      (goto-char (point-min))
      (search-forward "    ret")
      (let* ((capf (eglot-completion-at-point))
             (prefix (buffer-substring-no-properties (nth 0 capf) (nth 1 capf)))
             (candidates (all-completions prefix (nth 2 capf))))
        (codestral-test--put 'prefix prefix)
        (codestral-test--put 'candidates (vconcat (mapcar #'substring-no-properties candidates))))
      (completion-at-point)
      (codestral-test--put 'point (list (line-number-at-pos) (current-column)))
      (codestral-test--put 'completed (buffer-substring-no-properties (point-min) (point-max)))
      ;; A code action, as `eglot-code-actions' runs one. eglot asks before applying an edit a
      ;; server sends, and its y/n took the keys typed meanwhile: codestral-eglot turns that
      ;; off for its own edits. A question asked anyway is recorded (and answered "y").
      (advice-add 'y-or-n-p :override
                  (lambda (prompt &rest _) (codestral-test--put 'asked prompt) t))
      (goto-char (point-min))
      (let* ((before (buffer-string))
             (kind "refactor.rewrite.codestral")
             (actions (eglot-code-actions (point) (point) kind nil)))
        (codestral-test--put 'actions (vconcat (mapcar (lambda (a) (plist-get a :title)) actions)))
        (when actions
          ;; eglot waits for the executeCommand answer synchronously, Emacs frozen meanwhile:
          ;; it must come before the chat answer, which the test holds back until told (below).
          (let ((start (float-time)))
            (eglot--read-execute-code-action actions (eglot-current-server) kind)
            (codestral-test--put 'command-seconds (- (float-time) start)))
          (codestral-test--put 'unchanged-after-command (equal (buffer-string) before))
          (with-temp-file (getenv "CODESTRAL_TEST_SIGNAL") (insert "go"))
          (codestral-test--wait "the code action's edit"
                                (lambda () (not (equal (buffer-string) before))) 20)
          (codestral-test--put 'after-action (buffer-substring-no-properties
                                              (point-min) (point-max)))))
      (codestral-test--finish t))
  (error (codestral-test--finish nil (error-message-string err))))
