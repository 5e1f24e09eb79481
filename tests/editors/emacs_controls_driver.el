;;; emacs_controls_driver.el --- codestral-toggle and the mode line, in emacs --batch  -*- lexical-binding: t; -*-
;; Opens $CODESTRAL_TEST_FILE, lets eglot connect, waits for the server's first status, turns
;; completions off (M-x codestral-disable), asks for a completion, turns them back on and asks
;; again, then once more while the fake refuses the key; after each, what C-M-i's echo area
;; says. Writes what it saw to $CODESTRAL_TEST_RESULT as JSON.  Every wait is bounded.
(load (expand-file-name "emacs_test_support.el" (file-name-directory load-file-name)))

(defun codestral-test--candidates ()
  (goto-char (point-min))
  (search-forward "    ret")
  (let ((capf (eglot-completion-at-point)))
    (vconcat (mapcar #'substring-no-properties
                     (all-completions (buffer-substring-no-properties (nth 0 capf) (nth 1 capf))
                                      (nth 2 capf))))))

(defun codestral-test--explained (&optional found)
  "What the echo area showed, in order, after C-M-i: completion's \"No match\" (through
`minibuffer-message') unless FOUND, then what the command loop's post-command-hook said."
  (let (shown (minibuffer-message-timeout 0))
    (cl-letf (((symbol-function 'message)
               (lambda (format &rest args)
                 (when format (push (apply #'format-message format args) shown)))))
      (unless found
        (minibuffer-message "No match"))
      (let ((this-command 'completion-at-point))
        (run-hooks 'post-command-hook)))
    (vconcat (nreverse shown))))

(condition-case err
    (progn
      (find-file (getenv "CODESTRAL_TEST_FILE"))
      (run-hooks 'post-command-hook)
      (codestral-test--wait "eglot to connect" #'eglot-current-server 20)
      (push (cons 'first-mode-line (codestral-test--wait "a status" (lambda ()
                                     (and codestral-status (codestral-mode-line))) 20))
            codestral-test--result)
      (codestral-disable)
      (push (cons 'off-mode-line (codestral-mode-line)) codestral-test--result)
      (push (cons 'off-candidates (codestral-test--candidates)) codestral-test--result)
      (push (cons 'off-explained (codestral-test--explained)) codestral-test--result)
      (codestral-enable)
      (push (cons 'on-mode-line (codestral-mode-line)) codestral-test--result)
      (push (cons 'on-candidates (codestral-test--candidates)) codestral-test--result)
      (push (cons 'on-explained (codestral-test--explained)) codestral-test--result)
      ;; Off for this buffer only (C-u M-x codestral-disable): the reason is this file's.
      (codestral-disable t)
      (push (cons 'buffer-off-explained (codestral-test--explained)) codestral-test--result)
      (push (cons 'buffer-off-mode-line (codestral-mode-line)) codestral-test--result)
      (codestral-enable t)
      ;; The fake refuses the key from now on: C-M-i finds nothing, and says why (a new line
      ;; on top: the same prompt would be answered from the cache).
      (goto-char (point-min))
      (insert "# edited\n")
      ;; No waiting: the server tells the pause before its empty answer, so the first C-M-i
      ;; after the failure explains itself.
      (push (cons 'refused-candidates (codestral-test--candidates)) codestral-test--result)
      (push (cons 'paused-explained (codestral-test--explained)) codestral-test--result)
      (push (cons 'paused-mode-line (codestral-mode-line)) codestral-test--result)
      ;; The API is back: an explicit C-M-i goes through the pause, completes, and says
      ;; nothing of the pause it ended.
      (goto-char (point-min))
      (insert "# again\n")
      (push (cons 'recovered-candidates (codestral-test--candidates)) codestral-test--result)
      (push (cons 'recovered-explained (codestral-test--explained t)) codestral-test--result)
      (push (cons 'in-mode-line (if (member '(:eval (codestral-mode-line)) mode-line-misc-info)
                                    t :json-false))
            codestral-test--result)
      ;; Only where codestral-ls serves the buffer, and not after its server is shut down.
      (push (cons 'scratch-mode-line (with-temp-buffer (codestral-mode-line)))
            codestral-test--result)
      (eglot-shutdown (eglot-current-server))
      (push (cons 'shut-down-mode-line (codestral-mode-line)) codestral-test--result)
      (codestral-test--finish t))
  (error (codestral-test--finish nil (error-message-string err))))
