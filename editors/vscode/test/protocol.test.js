// The server as VS Code's language client talks to it: vscode-languageserver-protocol over stdio
// (the library vscode-languageclient is built on), VS Code's capabilities (utf-16 positions,
// inline completion), initializationOptions built by the extension's own compiled settings code,
// against the fake Mistral API (tests/fake_mistral.py) in another process.
//
// Run with `npm test` after `npm run compile`; PYTHON names the interpreter that has
// codestral_ls installed (default python3), and the repository root is two levels up.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');
const {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidChangeConfigurationNotification,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  CodeActionRequest,
  ShowMessageNotification,
  ShutdownRequest,
  ExitNotification,
} = require('vscode-languageserver-protocol/node');
const { serverSettings } = require('../out/settings');

const REPO = path.resolve(__dirname, '..', '..', '..');
const PYTHON = process.env.PYTHON || 'python3';
const ANSWER = 'a + b';
const URI = 'file:///project/calc.py';

/** VS Code's capabilities: when run from pytest, the recorded set the Python end-to-end tests
 * use for VS Code (pytest-lsp's visual-studio-code recording plus utf-16 and inlineCompletion),
 * passed as a file in VSCODE_CAPABILITIES; run alone, what VS Code sends for these features. */
const VSCODE_CAPABILITIES = process.env.VSCODE_CAPABILITIES
  ? JSON.parse(fs.readFileSync(process.env.VSCODE_CAPABILITIES, 'utf8'))
  : {
  general: { positionEncodings: ['utf-16'] },
  workspace: {
    applyEdit: true,
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: true },
    workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] },
  },
  window: { workDoneProgress: true, showMessage: { messageActionItem: { additionalPropertiesSupport: true } } },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true, willSave: true },
    completion: {
      dynamicRegistration: true,
      contextSupport: true,
      completionItem: { snippetSupport: true, insertReplaceSupport: true },
    },
    inlineCompletion: { dynamicRegistration: true },
    codeAction: {
      dynamicRegistration: true,
      isPreferredSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
      codeActionLiteralSupport: {
        codeActionKind: {
          valueSet: ['', 'quickfix', 'refactor', 'refactor.extract', 'refactor.inline',
            'refactor.rewrite', 'source', 'source.organizeImports'],
        },
      },
    },
  },
};

/** VS Code's configuration API over a plain object, for the extension's settings code. */
function configuration(values) {
  return { get: (key, fallback) => (key in values ? values[key] : fallback) };
}

let fake;
let baseUrl;
let server;
let connection;
const messages = [];

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

before(async () => {
  fake = spawn(PYTHON, ['-m', 'tests.fake_mistral', '--port', '0', '--answer', ANSWER], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: fake.stdout });
  baseUrl = await withTimeout(
    new Promise((resolve, reject) => {
      lines.once('line', resolve);
      fake.once('exit', (code) => reject(new Error(`fake exited with ${code}`)));
    }),
    15000,
    'the fake Mistral API to print its base URL',
  );
  assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);

  const env = { ...process.env };
  delete env.CODESTRAL_API_KEY;
  delete env.MISTRAL_API_KEY;
  delete env.CODESTRAL_API_BASE;
  server = spawn(PYTHON, ['-m', 'codestral_ls'], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'inherit'] });
  connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  connection.onNotification(ShowMessageNotification.type, (params) => messages.push(params));
  connection.listen();
});

after(async () => {
  if (connection) {
    try {
      await withTimeout(connection.sendRequest(ShutdownRequest.type), 5000, 'shutdown');
      await connection.sendNotification(ExitNotification.type);
    } catch (error) {
      server.kill();
    }
    connection.dispose();
  }
  if (server && server.exitCode === null) {
    await withTimeout(new Promise((resolve) => server.once('exit', resolve)), 5000, 'server exit')
      .catch(() => server.kill('SIGKILL'));
  }
  if (fake) {
    fake.kill();
  }
});

test('VS Code gets an inline completion at a utf-16 position, key from secret storage', { timeout: 30000 }, async () => {
  // What the extension sends: settings from `codestral.*` plus the key from SecretStorage.
  assert.ok(VSCODE_CAPABILITIES.textDocument.inlineCompletion, 'capabilities without inlineCompletion');
  assert.deepEqual(VSCODE_CAPABILITIES.general.positionEncodings, ['utf-16']);
  const options = serverSettings(configuration({ apiBase: baseUrl }), 'test-key');
  assert.equal(options.apiKey, 'test-key');
  const init = await withTimeout(
    connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: VSCODE_CAPABILITIES,
      initializationOptions: options,
      clientInfo: { name: 'Visual Studio Code', version: '1.95.0' },
    }),
    15000,
    'initialize',
  );
  assert.equal(init.capabilities.positionEncoding ?? 'utf-16', 'utf-16');
  assert.ok(init.capabilities.inlineCompletionProvider, 'no inlineCompletionProvider for VS Code');
  await connection.sendNotification(InitializedNotification.type, {});

  // An emoji before the cursor: 2 utf-16 units, 1 code point, 4 utf-8 bytes.
  const line = "    s = '😀'; return ";
  const text = `def add(a, b):\n${line}\n`;
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: URI, languageId: 'python', version: 1, text },
  });
  const position = { line: 1, character: line.length };
  const result = await withTimeout(
    connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: URI },
      position,
      context: { triggerKind: InlineCompletionTriggerKind.Invoked },
    }),
    15000,
    'textDocument/inlineCompletion',
  );
  const items = Array.isArray(result) ? result : result.items;
  assert.equal(items.length, 1, `expected one item, got ${JSON.stringify(result)}`);
  const [item] = items;
  assert.equal(item.insertText, ANSWER);
  assert.deepEqual(item.range.start, position);
  assert.deepEqual(item.range.end, position);
  assert.deepEqual(messages, [], 'the server complained');
});

test('a typed character and an automatic request, as VS Code asks on every keystroke', { timeout: 30000 }, async () => {
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: URI, version: 2 },
    contentChanges: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: '#' }],
  });
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: URI, version: 3 },
    contentChanges: [{ range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: 'x = ' }],
  });
  const result = await withTimeout(
    connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: URI },
      position: { line: 2, character: 4 },
      context: { triggerKind: InlineCompletionTriggerKind.Automatic },
    }),
    15000,
    'automatic textDocument/inlineCompletion',
  );
  const items = Array.isArray(result) ? result : result.items;
  assert.equal(items.length, 1);
  assert.equal(items[0].insertText, ANSWER);
});

test('the settings the extension pushes are accepted; the light bulb lists Codestral actions', { timeout: 30000 }, async () => {
  const settings = serverSettings(configuration({ apiBase: baseUrl, model: 'codestral-2508' }), 'test-key');
  await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { codestral: settings } });
  const actions = await withTimeout(
    connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: URI },
      range: { start: { line: 0, character: 4 }, end: { line: 0, character: 4 } },
      context: { diagnostics: [] },
    }),
    15000,
    'textDocument/codeAction',
  );
  const titles = (actions || []).map((action) => action.title);
  assert.ok(titles.some((title) => title.startsWith('Codestral:')), `titles: ${titles}`);
  assert.deepEqual(messages, [], 'the server complained about the settings');
});
