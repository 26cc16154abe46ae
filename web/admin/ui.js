// ui.js - the shared pieces of the page: the status line (toasts), the modal dialog and form dialogs.

import { clear, h } from './dom.js';
import { errorText } from './api.js';

let toastTimer = null;

// A short message in the live region (read by screen readers), gone after a few seconds.
export function toast(text, kind = 'ok') {
  const el = document.getElementById('toast');
  clear(el).append(h('p', { class: `toast toast-${kind}` }, text));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => clear(el), 5000);
}

let returnFocus = null;

export function closeDialog() {
  const dlg = document.getElementById('dialog');
  if (dlg.open) dlg.close();
}

// A modal dialog: a title, content nodes and buttons [{label, kind, onClick}] (onClick may return a
// promise; the dialog stays open when it resolves to false). A "Cerrar" button is always there.
export function showDialog(title, content, buttons = []) {
  const dlg = document.getElementById('dialog');
  returnFocus = document.activeElement;
  const err = h('p', { class: 'error', role: 'alert' });
  const row = h('div', { class: 'actions' });
  for (const b of buttons) {
    row.append(h('button', {
      type: 'button', class: b.kind || '',
      on: {
        click: async (ev) => {
          ev.target.disabled = true;
          try {
            const keep = await b.onClick();
            if (keep !== false) closeDialog();
          } catch (e) {
            err.textContent = errorText(e);
          } finally {
            ev.target.disabled = false;
          }
        },
      },
    }, b.label));
  }
  row.append(h('button', { type: 'button', class: 'secondary', on: { click: closeDialog } }, 'Cerrar'));
  clear(dlg).append(
    h('div', { class: 'dialog-box' },
      h('h2', { id: 'dialog-title' }, title),
      h('div', { class: 'dialog-body' }, content),
      err, row));
  dlg.setAttribute('aria-labelledby', 'dialog-title');
  if (!dlg.open) dlg.showModal();
  return { dlg, err };
}

// A dialog around a form: fields are the nodes from dom.field(); onSubmit() returns a promise and the
// dialog closes when it resolves (errors are shown inside it). The first field gets the focus.
export function formDialog(title, fields, submitLabel, onSubmit) {
  const dlg = document.getElementById('dialog');
  returnFocus = document.activeElement;
  const err = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h('form', { class: 'form', novalidate: true },
    fields, err,
    h('div', { class: 'actions' }, submit,
      h('button', { type: 'button', class: 'secondary', on: { click: closeDialog } }, 'Volver')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    try {
      await onSubmit();
      closeDialog();
    } catch (e) {
      err.textContent = e instanceof FormError ? e.message : errorText(e);
    } finally {
      submit.disabled = false;
    }
  });
  clear(dlg).append(h('div', { class: 'dialog-box' }, h('h2', { id: 'dialog-title' }, title), form));
  dlg.setAttribute('aria-labelledby', 'dialog-title');
  if (!dlg.open) dlg.showModal();
  const first = form.querySelector('input, select, textarea');
  if (first) first.focus();
  return form;
}

// An error in what was typed, shown as is.
export class FormError extends Error {}

export function setupDialog() {
  const dlg = document.getElementById('dialog');
  dlg.addEventListener('close', () => {
    clear(dlg);
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
    returnFocus = null;
  });
  // a click on the backdrop (outside the box) closes it
  dlg.addEventListener('click', (ev) => {
    if (ev.target === dlg) closeDialog();
  });
}

// Copies text to the clipboard; falls back to selecting it in `input` for Ctrl+C.
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copiado al portapapeles.');
  } catch (e) {
    if (input) {
      input.focus();
      input.select();
    }
    toast('Seleccionado: copialo con Ctrl+C.', 'warn');
  }
}
