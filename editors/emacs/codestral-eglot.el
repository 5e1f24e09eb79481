;;; codestral-eglot.el --- Codestral completion and code actions through eglot  -*- lexical-binding: t; -*-

;; Usage:
;;   (add-to-list 'load-path "/path/to/codestral-ls/editors/emacs")
;;   (require 'codestral-eglot)
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; Completions arrive through `completion-at-point' (C-M-i, corfu, company); code actions
;; (Explain, Refactor, Fix, ...) through `eglot-code-actions'.  The key comes from the
;; environment Emacs runs in (CODESTRAL_API_KEY or MISTRAL_API_KEY); nothing here stores it.
;; eglot runs one server per buffer: in `codestral-eglot-modes', codestral-ls takes the place of
;; the mode's usual server (use codestral-lsp-mode.el to run both).

;;; Code:

(require 'eglot)

(defgroup codestral nil
  "Codestral completion through the codestral-ls language server."
  :group 'tools
  :prefix "codestral-")

(defcustom codestral-eglot-command '("codestral-ls")
  "The server command and its arguments."
  :type '(repeat string))

(defcustom codestral-eglot-modes
  '(python-mode python-ts-mode js-mode js-ts-mode typescript-mode typescript-ts-mode
    tsx-ts-mode rust-mode rust-ts-mode go-mode go-ts-mode c-mode c-ts-mode c++-mode
    c++-ts-mode java-mode java-ts-mode ruby-mode ruby-ts-mode lua-mode sh-mode bash-ts-mode)
  "Major modes in which eglot starts codestral-ls."
  :type '(repeat symbol))

(defcustom codestral-eglot-initialization-options nil
  "Server settings sent as initializationOptions, a plist.
For example (:model \"codestral-latest\" :apiBase \"http://localhost:8000/v1\").
Keys are the settings of the codestral-ls README; read when the server starts."
  :type 'plist)

(defclass codestral-eglot-server (eglot-lsp-server) ()
  "eglot's connection to codestral-ls.")

(cl-defmethod eglot-initialization-options ((_server codestral-eglot-server))
  "Send `codestral-eglot-initialization-options' (an empty object when nil)."
  (or codestral-eglot-initialization-options eglot--{}))

(defun codestral-eglot-contact (&optional _interactive)
  "The eglot contact for codestral-ls."
  (cons 'codestral-eglot-server codestral-eglot-command))

(add-to-list 'eglot-server-programs (cons codestral-eglot-modes #'codestral-eglot-contact))

(provide 'codestral-eglot)
;;; codestral-eglot.el ends here
