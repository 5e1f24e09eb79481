;;; codestral-lsp-mode.el --- Codestral ghost text and code actions through lsp-mode  -*- lexical-binding: t; -*-

;; Usage (lsp-mode 9.0.1 or newer, for `lsp-inline-completion-mode'):
;;   (add-to-list 'load-path "/path/to/codestral-ls/editors/emacs")
;;   (require 'codestral-lsp-mode)
;;   (add-hook 'python-mode-hook #'lsp-deferred)
;;
;; codestral-ls runs as an add-on server beside the mode's usual one.  lsp-mode turns on
;; `lsp-inline-completion-mode' for servers with inline completion, which shows the answer as
;; ghost text after `codestral-lsp-inline-idle-delay' seconds; C-<return> (and TAB, see
;; `codestral-lsp-tab-accepts') accepts, C-n/C-p cycle, C-g dismisses.  With an older lsp-mode the
;; answers come through `completion-at-point' instead.  Code actions: `lsp-execute-code-action'.
;; The key comes from the environment Emacs runs in (CODESTRAL_API_KEY or MISTRAL_API_KEY).

;;; Code:

(require 'lsp-mode)

(defgroup codestral-lsp nil
  "Codestral through lsp-mode and the codestral-ls language server."
  :group 'tools
  :prefix "codestral-lsp-")

(defcustom codestral-lsp-command '("codestral-ls")
  "The server command and its arguments."
  :type '(repeat string))

(defcustom codestral-lsp-modes
  '(python-mode python-ts-mode js-mode js-ts-mode typescript-mode typescript-ts-mode
    tsx-ts-mode rust-mode rust-ts-mode rustic-mode go-mode go-ts-mode c-mode c-ts-mode
    c++-mode c++-ts-mode java-mode java-ts-mode ruby-mode ruby-ts-mode lua-mode sh-mode
    bash-ts-mode)
  "Major modes in which lsp-mode starts codestral-ls as an add-on server."
  :type '(repeat symbol))

(defcustom codestral-lsp-initialization-options nil
  "Server settings sent as initializationOptions, a plist.
For example (:model \"codestral-latest\" :apiBase \"http://localhost:8000/v1\").
Keys are the settings of the codestral-ls README; read when the server starts."
  :type 'plist)

(defcustom codestral-lsp-inline-idle-delay 0.3
  "Seconds of idle time before ghost text is asked for, in buffers codestral-ls serves.
The server debounces too, so a short delay costs no extra API calls."
  :type 'number)

(defcustom codestral-lsp-tab-accepts t
  "When non-nil, TAB accepts the ghost text while it is shown."
  :type 'boolean)

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (lambda () codestral-lsp-command))
  :activation-fn (lambda (_file-name &optional mode)
                   (memq (or mode major-mode) codestral-lsp-modes))
  :add-on? t
  :priority -2
  :server-id 'codestral-ls
  :initialization-options (lambda ()
                            (or codestral-lsp-initialization-options (make-hash-table)))))

(defun codestral-lsp--configure ()
  "Use a short idle delay for ghost text in buffers codestral-ls serves."
  (when (and (boundp 'lsp-inline-completion-idle-delay)
             (lsp-find-workspace 'codestral-ls nil))
    (setq-local lsp-inline-completion-idle-delay codestral-lsp-inline-idle-delay)))

(add-hook 'lsp-configure-hook #'codestral-lsp--configure)

(with-eval-after-load 'lsp-inline-completion
  (when codestral-lsp-tab-accepts
    (define-key lsp-inline-completion-active-map (kbd "<tab>") #'lsp-inline-completion-accept)
    (define-key lsp-inline-completion-active-map (kbd "TAB") #'lsp-inline-completion-accept)))

(provide 'codestral-lsp-mode)
;;; codestral-lsp-mode.el ends here
