// The FLUX debugger's VS Code extension: starts `flux-gdbstub dap` for debug
// sessions of type `flux`.  VS Code resolves a debugger contribution's
// `program` relative to the extension's folder, so the adapter is started
// here instead, from the setting `flux.adapterPath` (a path, or a command
// name looked up on PATH; default `flux-gdbstub`).  Plain JavaScript: no
// build step.
'use strict';
const vscode = require('vscode');

const DEFAULT_ADAPTER = 'flux-gdbstub';

/** The adapter command: the setting, or flux-gdbstub on PATH. */
function adapterCommand() {
  const configured = vscode.workspace.getConfiguration('flux').get('adapterPath');
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : DEFAULT_ADAPTER;
}

const factory = {
  createDebugAdapterDescriptor(_session, _executable) {
    return new vscode.DebugAdapterExecutable(adapterCommand(), ['dap']);
  },
};

/** Without a launch.json: debug the .fasm file in the editor. */
const configurations = {
  provideDebugConfigurations() {
    return [{ type: 'flux', request: 'launch', name: 'FLUX: debug the current .fasm file', program: '${file}', stopOnEntry: true, record: true }];
  },
  resolveDebugConfiguration(_folder, config) {
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.languageId === 'fasm') {
        return { type: 'flux', request: 'launch', name: 'FLUX: debug the current .fasm file', program: '${file}', stopOnEntry: true, record: true };
      }
    }
    if (!config.program) {
      return vscode.window.showInformationMessage('FLUX: no program to debug (open a .fasm file, or set "program")').then(() => undefined);
    }
    return config;
  },
};

function activate(context) {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('flux', factory),
    vscode.debug.registerDebugConfigurationProvider('flux', configurations),
    vscode.debug.registerDebugConfigurationProvider('flux', configurations, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  );
}

function deactivate() {}

module.exports = { activate, deactivate, adapterCommand, DEFAULT_ADAPTER };
