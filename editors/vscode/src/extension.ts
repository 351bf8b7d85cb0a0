// Hearth for VS Code: a thin client over the `hearth` language server.
//
// Everything a user sees comes from the server through vscode-languageclient:
// inline suggestions (LSP textDocument/inlineCompletion drives VS Code's ghost
// text), hovers, the docstring and fix code actions. The extension starts
// the server, hands it the `hearth.*` settings, shows its state, and shows
// an edit by instruction for the user to accept or reject (edits.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ClientCapabilities,
  FeatureState,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  StaticFeature,
} from 'vscode-languageclient/node';
import { registerEdits } from './edits';
import { chooseServer, VenvAnswer } from './serverChoice';

const SECTION = 'hearth';
// Settings of the extension itself; the server has the others.
const CLIENT_ONLY = ['server'];
const LANGUAGES = [
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'rust',
  'go',
  'c',
  'cpp',
  'java',
];

type ServerState = 'starting' | 'loading' | 'ready' | 'busy' | 'error' | 'stopped';
interface StatusParams {
  state: 'loading' | 'ready' | 'busy' | 'error';
  message?: string;
  percent?: number;
}

let client: LanguageClient | undefined;
let status: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;
let serverState: ServerState = 'stopped';
let serverMessage = '';

/** The `hearth.*` settings the server understands, as a nested object
 * (`{ completion: { maxTokens: 64 } }`), without unset values. */
function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const settings: Record<string, unknown> = {};
  for (const [section, value] of Object.entries(config)) {
    if (typeof value !== 'object' || value === null || CLIENT_ONLY.includes(section)) {
      continue;
    }
    settings[section] = Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== null && v !== ''),
    );
  }
  return settings;
}

/** The key of the user's answer about a workspace's own server, in global state. */
function venvKey(venv: string): string {
  return `venv:${venv}`;
}

/** Asks whether to run a workspace's own server; the answer, or undefined if
 * the user closed the question (asked again next time). */
async function askAboutVenv(venv: string): Promise<VenvAnswer | undefined> {
  const run = 'Run it';
  const never = 'Not for this folder';
  const choice = await vscode.window.showWarningMessage(
    `Run the Hearth server this folder contains (${venv})?`,
    {
      modal: true,
      detail:
        'It is a program from the folder: run it only if you trust where the folder ' +
        'comes from. Otherwise Hearth runs `hearth` from PATH, or hearth.server.command.',
    },
    run,
    never,
  );
  return choice === run ? 'run' : choice === never ? 'never' : undefined;
}

/** The server to run (serverChoice.ts): the user's `hearth.server.command`,
 * else `hearth` on PATH; a workspace's `.venv/bin/hearth` only if the user
 * says yes to it, asked once a folder. */
async function serverCommand(
  context: vscode.ExtensionContext,
): Promise<{ command: string; args: string[] }> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const args = config.get<string[]>('server.args', []);
  const venvs = (vscode.workspace.workspaceFolders ?? [])
    .map((folder) => path.join(folder.uri.fsPath, '.venv', 'bin', 'hearth'))
    .filter((venv) => fs.existsSync(venv))
    .map((venv) => ({ path: venv, answer: context.globalState.get<VenvAnswer>(venvKey(venv)) }));
  const choice = chooseServer(
    config.get<string>('server.command', ''),
    vscode.workspace.isTrusted,
    venvs,
  );
  if (choice.ask) {
    const answer = await askAboutVenv(choice.ask);
    if (answer) {
      await context.globalState.update(venvKey(choice.ask), answer);
    }
    if (answer === 'run') {
      return { command: choice.ask, args };
    }
  }
  return { command: choice.command, args };
}

/** Tells the server what this client does: it shows `hearth/status`, and its
 * answers to workspace/configuration hold only the user's own model and
 * engine settings (machine settings, which no workspace can set). */
class StatusFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = {
      ...(capabilities.experimental ?? {}),
      hearthStatus: true,
      hearthUserSettings: true,
    };
  }
  getState(): FeatureState {
    return { kind: 'static' };
  }
  initialize(): void {}
  clear(): void {}
}

function showStatus(): void {
  const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>('completion.enabled');
  const off = enabled === false ? ' (suggestions off)' : '';
  const views: Record<ServerState, [string, string]> = {
    starting: ['$(sync~spin) Hearth', 'Hearth: starting the server'],
    loading: [`$(sync~spin) Hearth ${serverMessage}`, 'Hearth: loading the model'],
    ready: [`$(check) Hearth${off}`, 'Hearth: ready'],
    busy: [`$(loading~spin) Hearth${off}`, 'Hearth: the model is writing'],
    error: ['$(error) Hearth', `Hearth: ${serverMessage}`],
    stopped: ['$(circle-slash) Hearth', 'Hearth: the server is not running'],
  };
  const [text, tooltip] = views[serverState];
  status.text = text;
  status.tooltip = `${tooltip}\nClick for the log.`;
  status.backgroundColor =
    serverState === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  status.show();
}

function setState(state: ServerState, message = ''): void {
  serverState = state;
  serverMessage = message;
  showStatus();
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const { command, args } = await serverCommand(context);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.map((language) => ({ language })),
    initializationOptions: serverSettings(),
    outputChannel: output,
    synchronize: { configurationSection: SECTION },
    middleware: {
      workspace: {
        // The server asks for the `hearth` section: only the settings it knows.
        configuration: (params, token, next) =>
          params.items.map((item) => (item.section === SECTION ? serverSettings() : null)),
      },
    },
  };
  client = new LanguageClient('hearth', 'Hearth', serverOptions, clientOptions);
  client.registerFeature(new StatusFeature());
  context.subscriptions.push(
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Starting) {
        setState('starting');
      } else if (newState === State.Stopped) {
        setState('stopped');
      }
    }),
  );
  client.onNotification('hearth/status', (params: StatusParams) => {
    const percent = params.percent !== undefined ? `${params.percent}%` : '';
    setState(params.state, params.state === 'loading' ? percent : params.message ?? '');
  });
  setState('starting');
  try {
    await client.start();
  } catch (error) {
    setState('error', `the server did not start (${command}): ${error}`);
    output.error(`Could not start ${command} ${args.join(' ')}: ${error}`);
    void vscode.window
      .showErrorMessage(
        `Hearth: could not start the server "${command}". Set hearth.server.command, or run \`make run\` in the Hearth checkout.`,
        'Show log',
      )
      .then((choice) => choice && output.show());
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop().catch((error) => output.error(`stopping the server: ${error}`));
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Hearth', { log: true });
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.name = 'Hearth';
  status.command = 'hearth.showLog';
  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand('hearth.showLog', () => output.show()),
    vscode.commands.registerCommand('hearth.restart', async () => {
      await stop();
      await start(context);
    }),
    vscode.commands.registerCommand('hearth.toggleInline', async () => {
      const config = vscode.workspace.getConfiguration(SECTION);
      const enabled = config.get<boolean>('completion.enabled', true);
      await config.update('completion.enabled', !enabled, vscode.ConfigurationTarget.Global);
    }),
    // Trusted now: the folder's settings count, and its own server may be asked about.
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.server`)) {
        await stop();
        await start(context);
      } else if (event.affectsConfiguration(SECTION)) {
        showStatus();
      }
    }),
  );
  registerEdits(context, () => client);
  await start(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}
