// Which `hearth` to run: an opened folder is not trusted, so nothing it ships
// runs unless the user said so. Pure, without VS Code, so that a test can run
// it in Node (tests/editors/test_vscode.py).

/** What the user answered about a workspace's own `.venv/bin/hearth`. */
export type VenvAnswer = 'run' | 'never';

export interface Venv {
  path: string; // a workspace folder's .venv/bin/hearth, which exists
  answer: VenvAnswer | undefined; // kept in the extension's global state; undefined: not asked
}

export interface ServerChoice {
  command: string; // what to run, unless the user says yes to `ask`
  ask?: string; // a workspace's .venv/bin/hearth to ask the user about first
}

/**
 * `configured` (the user's `hearth.server.command`, a machine setting that no
 * workspace can set) if any; else a workspace's `.venv/bin/hearth` the user
 * said to run; else `hearth` from PATH, after asking about the first one not
 * asked about yet. In Restricted Mode (`trusted` false) no workspace's server,
 * and no question.
 */
export function chooseServer(configured: string, trusted: boolean, venvs: Venv[]): ServerChoice {
  if (configured) {
    return { command: configured };
  }
  if (trusted) {
    const chosen = venvs.find((venv) => venv.answer === 'run');
    if (chosen) {
      return { command: chosen.path };
    }
    const unasked = venvs.find((venv) => venv.answer === undefined);
    if (unasked) {
      return { command: 'hearth', ask: unasked.path };
    }
  }
  return { command: 'hearth' };
}
