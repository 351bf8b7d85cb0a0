// Edits by instruction: "Hearth: Edit by instruction..." asks for an
// instruction, and the server's `hearth.edit` rewrites the selection (or
// the function around the cursor) as it says. The server proposes the edit
// without applying it; this shows it as a diff (the file now, the file with
// the edit) until the user accepts it, applied as one undo step, or rejects
// it. A proposal is dropped when its document changes: it was made for the
// text as it was. "Hearth: Fix failure" sends a failure (the selection, the
// terminal's, or the clipboard) to `hearth.fixFailure`, and shows its fix
// the same way.
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  WorkspaceEdit as LspWorkspaceEdit,
} from 'vscode-languageclient/node';

const SCHEME = 'hearth-proposal';
const PROPOSED = 'hearth.editProposed'; // context key: a proposal is shown

interface EditResult {
  edit: LspWorkspaceEdit | null;
  lines?: [number, number];
  uri?: string; // hearth.fixFailure: the file the edit is of
  cancelled?: boolean;
  message?: string;
}

interface Proposal {
  document: vscode.TextDocument;
  version: number; // the document's, when the edit was asked for
  edit: vscode.WorkspaceEdit;
  view: vscode.Uri; // the proposed text, shown on the diff's right
}

let proposal: Proposal | undefined;
const proposedTexts = new Map<string, string>(); // view URI -> proposed text
let views = 0;

/** The text of `document` once `edits` (of it) are made. */
function editedText(document: vscode.TextDocument, edits: vscode.TextEdit[]): string {
  let text = document.getText();
  const start = (edit: vscode.TextEdit) => document.offsetAt(edit.range.start);
  for (const edit of [...edits].sort((a, b) => start(b) - start(a))) {
    const end = document.offsetAt(edit.range.end);
    text = text.slice(0, start(edit)) + edit.newText + text.slice(end);
  }
  return text;
}

async function closeView(view: vscode.Uri): Promise<void> {
  const tabs = vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter(
      (tab) =>
        tab.input instanceof vscode.TabInputTextDiff &&
        tab.input.modified.toString() === view.toString(),
    );
  await vscode.window.tabGroups.close(tabs);
  proposedTexts.delete(view.toString());
}

/** Drop the proposal shown, closing its diff; the document stays as it is. */
async function drop(): Promise<Proposal | undefined> {
  const dropped = proposal;
  proposal = undefined;
  await vscode.commands.executeCommand('setContext', PROPOSED, false);
  if (dropped) {
    await closeView(dropped.view);
  }
  return dropped;
}

async function ask(client: () => LanguageClient | undefined): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const running = client();
  if (!editor || !running) {
    void vscode.window.showWarningMessage('Hearth: open a file Hearth serves to edit it.');
    return;
  }
  const instruction = await vscode.window.showInputBox({
    title: 'Hearth: edit by instruction',
    prompt: editor.selection.isEmpty
      ? 'What to change in the function around the cursor'
      : 'What to change in the selected lines',
    placeHolder: 'add type hints; use pathlib; raise ValueError on a negative amount',
    ignoreFocusOut: true,
  });
  if (!instruction?.trim()) {
    return;
  }
  await drop();
  const document = editor.document;
  const version = document.version;
  const range = running.code2ProtocolConverter.asRange(editor.selection);
  const result: EditResult = await running.sendRequest(ExecuteCommandRequest.type, {
    command: 'hearth.edit',
    arguments: [document.uri.toString(), range, instruction],
  });
  await show(running, document, version, result);
}

/** The failure to fix: the editor's selection, else the terminal's (copied),
 * else the clipboard. */
async function failureText(): Promise<string> {
  const editor = vscode.window.activeTextEditor;
  if (editor && !editor.selection.isEmpty) {
    return editor.document.getText(editor.selection);
  }
  if (vscode.window.activeTerminal) {
    await vscode.commands.executeCommand('workbench.action.terminal.copySelection');
  }
  return vscode.env.clipboard.readText();
}

async function fixFailure(client: () => LanguageClient | undefined): Promise<void> {
  const running = client();
  if (!running) {
    void vscode.window.showWarningMessage('Hearth: the server is not running.');
    return;
  }
  const text = await failureText();
  if (!text.trim()) {
    void vscode.window.showInformationMessage(
      'Hearth: select a failure (a traceback, test output) in an editor or the terminal, ' +
        'or copy it.',
    );
    return;
  }
  await drop();
  const result: EditResult = await running.sendRequest(ExecuteCommandRequest.type, {
    command: 'hearth.fixFailure',
    arguments: [text],
  });
  if (!result?.edit || !result.uri) {
    return; // none written: the server said why
  }
  const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(result.uri));
  await vscode.window.showTextDocument(document, { preview: false });
  await show(running, document, document.version, result);
}

/** Show the proposal in `result` (an edit of `document`, asked at `version`)
 * as a diff, and ask whether to apply it. */
async function show(
  running: LanguageClient,
  document: vscode.TextDocument,
  version: number,
  result: EditResult,
): Promise<void> {
  if (!result?.edit) {
    return; // none written: the server said why, or the user cancelled its progress
  }
  if (document.version !== version) {
    void vscode.window.showWarningMessage(
      'Hearth: the file changed while the edit was written; ask again.',
    );
    return;
  }
  const edit = await running.protocol2CodeConverter.asWorkspaceEdit(result.edit);
  if (!edit) {
    return;
  }
  const edits = edit.get(document.uri);
  views += 1;
  const view = vscode.Uri.from({ scheme: SCHEME, path: document.uri.path, query: String(views) });
  proposedTexts.set(view.toString(), editedText(document, edits));
  proposal = { document, version, edit, view };
  await vscode.commands.executeCommand('setContext', PROPOSED, true);
  const name = document.uri.path.split('/').pop();
  const title = `${name}: Hearth's edit (proposed)`;
  await vscode.commands.executeCommand('vscode.diff', document.uri, view, title, { preview: true });
  const choice = await vscode.window.showInformationMessage(
    `Hearth: apply this edit of ${name}?`,
    'Accept',
    'Reject',
  );
  if (proposal?.view === view) {
    if (choice === 'Accept') {
      await accept();
    } else if (choice === 'Reject') {
      await drop();
    }
  }
}

async function accept(): Promise<void> {
  const accepted = await drop();
  if (!accepted) {
    void vscode.window.showInformationMessage('Hearth: no edit is proposed.');
    return;
  }
  if (accepted.document.isClosed || accepted.document.version !== accepted.version) {
    void vscode.window.showWarningMessage(
      'Hearth: the file changed since the edit was proposed; ask again.',
    );
    return;
  }
  if (!(await vscode.workspace.applyEdit(accepted.edit))) {
    void vscode.window.showWarningMessage('Hearth: the editor did not apply the edit.');
    return;
  }
  await vscode.window.showTextDocument(accepted.document);
}

/** The commands, the diff's right side, and dropping a proposal whose file changes. */
export function registerEdits(
  context: vscode.ExtensionContext,
  client: () => LanguageClient | undefined,
): void {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
      provideTextDocumentContent: (uri) => proposedTexts.get(uri.toString()) ?? '',
    }),
    vscode.commands.registerCommand('hearth.editByInstruction', () => ask(client)),
    vscode.commands.registerCommand('hearth.fixFailureText', () => fixFailure(client)),
    vscode.commands.registerCommand('hearth.acceptEdit', accept),
    vscode.commands.registerCommand('hearth.rejectEdit', drop),
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (proposal && event.document === proposal.document && event.contentChanges.length > 0) {
        void drop();
      }
    }),
  );
}
