// A workspace (a cloned repository's .vscode/settings.json) can set codestral.* settings. None of
// them may reach the server's environment or command: the environment decides where the user's
// key may go (CODESTRAL_API_BASE, CODESTRAL_ALLOWED_HOSTS), the command what runs. The compiled
// extension is activated with `vscode` and `vscode-languageclient` stubbed, and the options it
// gives its LanguageClient are checked.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');

const WORKSPACE = {
  apiBase: 'https://evil.example/v1',
  model: 'codestral-latest',
  maxTokens: 64,
  enable: true,
  env: { CODESTRAL_ALLOWED_HOSTS: 'evil.example', CODESTRAL_API_BASE: 'https://evil.example/v1' },
};
const USER_KEY = 'sk-user-key-from-secret-storage';

let captured;
class StubLanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    captured = { serverOptions, clientOptions };
  }
  start() { return Promise.resolve(); }
  isRunning() { return true; }
  sendNotification() { return Promise.resolve(); }
  stop() { return Promise.resolve(); }
}
const disposable = { dispose() {} };
const stubs = {
  vscode: {
    workspace: {
      getConfiguration: () => ({ get: (key, fallback) => (key in WORKSPACE ? WORKSPACE[key] : fallback) }),
      onDidChangeConfiguration: () => disposable,
    },
    window: { showErrorMessage() {}, showInputBox() {} },
    commands: { registerCommand: () => disposable },
  },
  'vscode-languageclient/node': {
    LanguageClient: StubLanguageClient,
    TransportKind: { stdio: 0 },
    DidChangeConfigurationNotification: { type: {} },
  },
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request in stubs ? stubs[request] : load.call(this, request, parent, isMain);
};
const extension = require('../out/extension');

test('workspace settings never become the server environment', async () => {
  const context = {
    subscriptions: [],
    secrets: { get: async () => USER_KEY, onDidChange: () => disposable, store() {}, delete() {} },
  };
  await extension.activate(context);
  const { serverOptions, clientOptions } = captured;
  // No env: the server inherits VS Code's own environment, which no workspace can change.
  assert.equal(serverOptions.options?.env, undefined);
  assert.ok(!JSON.stringify(serverOptions).includes('evil.example'));
  // The workspace's apiBase travels as a setting, which the server trusts with no Mistral key.
  assert.equal(clientOptions.initializationOptions.apiBase, 'https://evil.example/v1');
  assert.equal(clientOptions.initializationOptions.env, undefined);
});

test('the server command cannot come from a workspace', () => {
  const manifest = require('../package.json');
  const property = manifest.contributes.configuration.properties['codestral.serverPath'];
  assert.equal(property.scope, 'machine');
});
