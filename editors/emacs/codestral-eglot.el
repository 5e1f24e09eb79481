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

(defalias 'codestral--chat-parent-mode
  (if (fboundp 'markdown-mode) 'markdown-mode 'text-mode))

(define-derived-mode codestral-chat-mode codestral--chat-parent-mode "Codestral-Chat"
  "A chat with Codestral in a file named *.codestral.md.
Write a question under a `## You' heading, then `eglot-code-actions' and Codestral: Reply:
the answer is appended under `## Codestral', with a new `## You' for the next question.")

(add-to-list 'auto-mode-alist '("\\.codestral\\.md\\'" . codestral-chat-mode))
(add-hook 'codestral-chat-mode-hook #'eglot-ensure)  ; the file is there to talk to it

(defcustom codestral-eglot-modes
  '(codestral-chat-mode python-mode python-ts-mode js-mode js-ts-mode typescript-mode typescript-ts-mode
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

;;; Code actions: the edit lands without a y/n prompt.

(defcustom codestral-eglot-confirm-edits nil
  "Non-nil: ask before applying a code action's edit, as eglot does for other servers.
Off by default: the answer arrives seconds after the action was picked, often while you
type, and eglot's \"Proceed? (y or n)\" then takes your keystrokes as answers (a space
is a yes) and drops the others.  You asked for the edit when you picked the action."
  :type 'boolean)

(defvar eglot-confirm-server-initiated-edits)  ; eglot 1.9-1.11 (Emacs 28)
(defvar eglot-confirm-server-edits)            ; eglot 1.12 and later (Emacs 29+)

(cl-defmethod eglot-handle-request :around
  ((_server codestral-eglot-server) (_method (eql workspace/applyEdit)) &rest _)
  "Apply codestral-ls's edits as `codestral-eglot-confirm-edits' says."
  (if codestral-eglot-confirm-edits
      (cl-call-next-method)
    (let ((eglot-confirm-server-initiated-edits nil)
          (eglot-confirm-server-edits nil))
      (cl-call-next-method))))

;;; Switches and status: M-x codestral-toggle (C-u: this buffer only), the mode line.

(defvar codestral-status nil
  "The server's last `codestral/status': a plist (:state STATE :message TEXT ...).")

(defun codestral--server ()
  "The codestral-ls connection of this buffer, or an error saying there is none."
  (let ((server (eglot-current-server)))
    (unless (cl-typep server 'codestral-eglot-server)
      (user-error "codestral-ls is not running in this buffer"))
    server))

(defun codestral-command (action &optional this-buffer)
  "Send ACTION (\"enable\", \"disable\", \"toggle\" or \"status\") to the server;
with THIS-BUFFER, for this buffer only.  Shows the status the server answers."
  (let* ((argument (if this-buffer
                       (list :action action :uri (eglot--path-to-uri (buffer-file-name)))
                     (list :action action)))
         (answer (eglot-execute-command (codestral--server) "codestral.toggle"
                                        (vector argument))))
    (when (and (plist-get answer :state) (not this-buffer))  ; the mode line is global
      (setq codestral-status answer)
      (force-mode-line-update t))
    (message "%s" (or (plist-get answer :message) ""))))

(defun codestral-toggle (&optional this-buffer)
  "Turn Codestral completions off or on; with a prefix argument, in THIS-BUFFER only."
  (interactive "P")
  (codestral-command "toggle" this-buffer))

(defun codestral-enable (&optional this-buffer)
  "Turn Codestral completions on; with a prefix argument, in THIS-BUFFER only."
  (interactive "P")
  (codestral-command "enable" this-buffer))

(defun codestral-disable (&optional this-buffer)
  "Turn Codestral completions off; with a prefix argument, in THIS-BUFFER only."
  (interactive "P")
  (codestral-command "disable" this-buffer))

(defun codestral-show-status ()
  "Show what the server is doing (for this buffer)."
  (interactive)
  (codestral-command "status" t))

(cl-defmethod eglot-handle-notification
  ((_server codestral-eglot-server) (_method (eql codestral/status)) &rest status)
  "Keep the server's state for the mode line."
  (setq codestral-status status)
  (force-mode-line-update t))

(defvar-local codestral--serving nil
  "Non-nil in buffers whose eglot server is codestral-ls.")

(defun codestral-mode-line ()
  "A short mode-line string: Codestral, Codestral… (writing), ⏸ (paused), off, ✗ key.
Empty in buffers codestral-ls does not serve (and once its server is shut down)."
  (pcase (and codestral--serving (plist-get codestral-status :state))
    ("waiting" " Codestral…")
    ("backoff" " Codestral⏸")
    ("disabled" " Codestral:off")
    ("no-key" " Codestral:✗key")
    ('nil "")
    (_ " Codestral")))

(add-to-list 'mode-line-misc-info '(:eval (codestral-mode-line)) t)

;;; Why a completion found nothing: "No match" alone does not say that Codestral is paused.

(defconst codestral--completion-commands '(completion-at-point complete-symbol)
  "Commands after which an explanation stays in the echo area.")

(defvar codestral--explained nil
  "The explanation shown instead of \"No match\" during the current command, if any.")

(defun codestral-why-nothing ()
  "Why Codestral offers no completion in this buffer now, or nil when it is ready.
Asks the server, which knows this file's own reasons (its language turned off, a file
never sent, completions switched off for it) as well as a pause after failures."
  (let* ((status (ignore-errors
                   (eglot-execute-command
                    (eglot-current-server) "codestral.toggle"
                    (vector (list :action "status" :uri (eglot--path-to-uri buffer-file-name))))))
         (message (plist-get status :message)))
    (when (and message (not (member (plist-get status :state) '("idle" "waiting"))))
      ;; The server words its hints for Neovim (":Codestral enable").
      (replace-regexp-in-string ":Codestral \\([a-z]+\\)" "M-x codestral-\\1" message))))

(defun codestral--instead-of-no-match (show format &rest args)
  "Around `minibuffer-message' (SHOW, with FORMAT and ARGS): where codestral-ls serves the
buffer, \"No match\" says why instead when Codestral is paused, off or not set up."
  (let ((why (and codestral--serving buffer-file-name (equal format "No match")
                  (codestral-why-nothing))))
    (if (not why)
        (apply show format args)
      (setq codestral--explained why)
      (funcall show "%s" why))))

(advice-add 'minibuffer-message :around #'codestral--instead-of-no-match)

(defun codestral--keep-explanation ()
  "After a completion command that was explained, leave the reason in the echo area:
`minibuffer-message' clears it after `minibuffer-message-timeout' seconds."
  (let ((why codestral--explained))
    (setq codestral--explained nil)
    (when (and why (memq this-command codestral--completion-commands))
      (let ((message-log-max nil))  ; once in *Messages* is enough
        (message "%s" why)))))

(defun codestral--watch-completions ()
  "In buffers that codestral-ls serves, explain empty completions (see above)."
  (setq codestral--serving
        (and eglot--managed-mode (cl-typep (eglot-current-server) 'codestral-eglot-server)))
  (if codestral--serving
      (add-hook 'post-command-hook #'codestral--keep-explanation nil t)
    (remove-hook 'post-command-hook #'codestral--keep-explanation t)))

(add-hook 'eglot-managed-mode-hook #'codestral--watch-completions)

(provide 'codestral-eglot)
;;; codestral-eglot.el ends here
