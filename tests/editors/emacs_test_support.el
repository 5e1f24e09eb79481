;;; emacs_test_support.el --- what the emacs --batch drivers share  -*- lexical-binding: t; -*-
;; The result they collect, how they end (the result written to $CODESTRAL_TEST_RESULT as
;; JSON, eglot's server shut down) and a bounded wait.
(require 'cl-lib)
(require 'json)

(defvar codestral-test--result nil)

(defun codestral-test--finish (ok &optional error)
  (push (cons 'ok (if ok t :json-false)) codestral-test--result)
  (when error (push (cons 'error error) codestral-test--result))
  (with-temp-file (getenv "CODESTRAL_TEST_RESULT")
    (insert (json-encode codestral-test--result)))
  (ignore-errors (eglot-shutdown (eglot-current-server)))
  (kill-emacs 0))

(defun codestral-test--wait (what predicate seconds)
  "Process input until PREDICATE holds (its value is returned), or fail after SECONDS."
  (let ((deadline (+ (float-time) seconds)) value)
    (while (not (setq value (funcall predicate)))
      (when (> (float-time) deadline) (error "Timed out waiting for %s" what))
      (accept-process-output nil 0.05))
    value))
