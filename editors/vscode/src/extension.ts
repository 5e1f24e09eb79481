/**
 * Codestral for VS Code: starts the codestral-ls language server and lets vscode-languageclient
 * turn its LSP inline completions into ghost text and its code actions into light-bulb entries.
 *
 * The API key lives in VS Code's SecretStorage (set with "Codestral: Set API Key"), never in
 * settings.json. It reaches the server in initializationOptions, and through
 * workspace/didChangeConfiguration when it or a setting changes. Without a stored key the
 * server falls back to CODESTRAL_API_KEY / MISTRAL_API_KEY from VS Code's environment.
 */
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { serverSettings } from './settings';

const SECRET_KEY = 'codestral.apiKey';
const SECTION = 'codestral';

let client: LanguageClient | undefined;

async function currentSettings(context: vscode.ExtensionContext): Promise<Record<string, unknown>> {
  const apiKey = await context.secrets.get(SECRET_KEY);
  return serverSettings(vscode.workspace.getConfiguration(SECTION), apiKey);
}

async function pushSettings(context: vscode.ExtensionContext): Promise<void> {
  if (client === undefined || !client.isRunning()) {
    return;
  }
  await client.sendNotification(DidChangeConfigurationNotification.type, {
    settings: { [SECTION]: await currentSettings(context) },
  });
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const command = vscode.workspace.getConfiguration(SECTION).get<string>('serverPath', 'codestral-ls');
  const serverOptions: ServerOptions = { command, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: await currentSettings(context),
    outputChannelName: 'Codestral',
    middleware: {
      workspace: {
        // If the server pulls its settings (workspace/configuration), answer with the same
        // shape as initializationOptions, key included, rather than the raw settings.json section.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          const settings = await currentSettings(context);
          return params.items.map((item, i) => (item.section === SECTION ? settings : answers[i]));
        },
      },
    },
  };
  client = new LanguageClient('codestral', 'Codestral', serverOptions, clientOptions);
  await client.start();
}

async function stopClient(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    await running.stop();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand('codestral.setApiKey', async () => {
      const key = await vscode.window.showInputBox({
        title: 'Codestral API key',
        prompt: 'Stored in VS Code secret storage, not in settings.json',
        password: true,
        ignoreFocusOut: true,
      });
      if (key !== undefined && key.trim() !== '') {
        await context.secrets.store(SECRET_KEY, key.trim());
      }
    }),
    vscode.commands.registerCommand('codestral.clearApiKey', async () => {
      await context.secrets.delete(SECRET_KEY);
    }),
    vscode.commands.registerCommand('codestral.restartServer', async () => {
      await stopClient();
      await startClient(context);
    }),
    context.secrets.onDidChange(async (event) => {
      if (event.key === SECRET_KEY) {
        await pushSettings(context);
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.serverPath`)) {
        await stopClient();
        await startClient(context);
      } else if (event.affectsConfiguration(SECTION)) {
        await pushSettings(context);
      }
    }),
  );
  try {
    await startClient(context);
  } catch (error) {
    void vscode.window.showErrorMessage(
      `Codestral: could not start the server (${String(error)}). ` +
        'Install it from a clone of the codestral-ls repository ("pipx install ." or ' +
        '"uv tool install ." there), or set codestral.serverPath to its full path.',
    );
  }
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
