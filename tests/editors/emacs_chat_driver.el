;;; emacs_chat_driver.el --- a *.codestral.md chat in emacs --batch  -*- lexical-binding: t; -*-
;; Opens $CODESTRAL_TEST_FILE (a chat file: codestral-eglot gives it codestral-chat-mode and
;; starts eglot), lists the code actions at the end and runs Codestral: Reply as
;; `eglot-code-actions' would. Writes what it saw to $CODESTRAL_TEST_RESULT as JSON.
(load (expand-file-name "emacs_test_support.el" (file-name-directory load-file-name)))

(condition-case err
    (progn
      (find-file (getenv "CODESTRAL_TEST_FILE"))
      (push (cons 'mode (symbol-name major-mode)) codestral-test--result)
      (run-hooks 'post-command-hook)
      (codestral-test--wait "eglot to connect" #'eglot-current-server 20)
      (goto-char (point-max))
      (let* ((actions (eglot-code-actions (point) (point) nil nil))
             (reply (cl-remove-if-not (lambda (a) (equal (plist-get a :title) "Codestral: Reply"))
                                      actions)))
        (push (cons 'actions (vconcat (mapcar (lambda (a) (plist-get a :title)) actions)))
              codestral-test--result)
        (when reply
          (eglot--read-execute-code-action reply (eglot-current-server)
                                           (plist-get (car reply) :kind))
          (codestral-test--wait "the reply" (lambda ()
                                              (save-excursion
                                                (goto-char (point-min))
                                                (search-forward "## Codestral" nil t)))
                                20)
          (push (cons 'after (buffer-substring-no-properties (point-min) (point-max)))
                codestral-test--result)))
      (codestral-test--finish t))
  (error (codestral-test--finish nil (error-message-string err))))
