/**
 * The settings the extension sends to codestral-ls, kept free of the `vscode` module so the
 * protocol test (test/protocol.test.js, plain Node) builds its initializationOptions with
 * exactly this code.
 */

/** The part of vscode.WorkspaceConfiguration this module reads. */
export interface ConfigurationReader {
  get<T>(section: string, defaultValue: T): T;
}

/** Server settings from the `codestral.*` configuration plus the stored key; `null` clears. */
export function serverSettings(
  config: ConfigurationReader,
  apiKey: string | undefined,
): Record<string, unknown> {
  const apiBase = config.get<string>('apiBase', '').trim();
  return {
    model: config.get<string>('model', 'codestral-latest'),
    maxTokens: config.get<number>('maxTokens', 128),
    enable: config.get<boolean>('enable', true),
    apiBase: apiBase === '' ? null : apiBase,
    apiKey: apiKey ?? null,
  };
}
