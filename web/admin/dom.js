// dom.js - building the page from nodes, never from HTML strings: every piece of data (a guest's name, a block's reason)
// becomes a text node, so nothing a guest typed can turn into markup. No inline styles either: the page's
// Content-Security-Policy allows only the stylesheet.

// h('button', {class: 'primary', on: {click: f}, 'aria-label': '…'}, 'Guardar', child, [more])
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replaces the content of `el` with `children` (null and false are skipped, arrays flattened).
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let uid = 0;
// A labelled field: <div class="field"><label for=id>Label</label><input id=id …></div>; returns
// {wrap, input}. `control` is 'input' (default), 'select' (with options [[value, label]]) or 'textarea'.
export function field(label, props = {}, control = 'input', options = []) {
  const id = props.id || `f${++uid}`;
  const input = h(control, { ...props, id });
  for (const [value, text] of options) input.append(h('option', { value }, text));
  if (control === 'select' && props.value !== undefined) input.value = props.value;
  const hint = props['data-hint'] ? h('small', { class: 'hint', id: `${id}-hint` }, props['data-hint']) : null;
  if (hint) input.setAttribute('aria-describedby', hint.id);
  const wrap = h('div', { class: `field field-${control}` }, h('label', { for: id }, label), input, hint);
  return { wrap, input };
}

// A checkbox with its label after it.
export function checkbox(label, props = {}) {
  const id = props.id || `f${++uid}`;
  const input = h('input', { ...props, id, type: 'checkbox' });
  return { wrap: h('div', { class: 'check' }, input, h('label', { for: id }, label)), input };
}
