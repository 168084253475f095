// Small DOM helpers: no framework, no innerHTML with data (text is always set as text).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let ids = 0;
export const uid = (p = 'f') => `${p}-${++ids}`;

/** A labelled control: label text, then the control, then an optional hint. */
export function field(label, control, hint) {
  const id = control.id || (control.id = uid());
  const hintEl = hint ? h('small', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function checkbox(label, attrs = {}) {
  const input = h('input', { type: 'checkbox', ...attrs });
  return h('label', { class: 'check' }, input, ' ', label);
}

export function select(options, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [value, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value, selected: attrs.value === value }, text);
  }));
}

export function button(text, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, text);
}

/** The API's refusal, shown as it is: `error_message` and the field errors. */
export function errorBox(err) {
  const details = err && err.details ? err.details : [];
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, err && err.message ? err.message : String(err)),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d))) : null);
}

export function toast(text, kind = 'ok') {
  const t = h('div', { class: `toast ${kind}` }, text);
  const box = document.getElementById('toasts');
  while (box.children.length >= 3) box.firstChild.remove();
  box.append(t);
  setTimeout(() => t.remove(), 4000);
}

/** A modal <dialog>; resolves with the value passed to close(). */
export function modal(title, build, { wide } = {}) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const d = h('dialog', { class: wide ? 'wide' : '', 'aria-labelledby': titleId });
    let result;
    const close = (v) => { result = v; d.close(); };
    d.addEventListener('close', () => { d.remove(); resolve(result); });
    d.append(h('h2', { id: titleId }, title), build(close));
    document.body.append(d);
    d.showModal();
  });
}

export function confirmDialog(title, text, action = 'Delete') {
  return modal(title, (close) => h('div', {},
    h('p', {}, text),
    h('div', { class: 'actions' },
      button('Cancel', () => close(false), { autofocus: true }),
      button(action, () => close(true), { class: 'danger' }))));
}

export function fmtDate(s) {
  if (!s) return '—';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A date, or a date and time when it has one. */
export function fmtDay(s) {
  if (!s) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return new Date(`${s}T00:00:00`).toLocaleDateString(undefined, { dateStyle: 'medium' });
  return fmtDate(s);
}

export function loading() { return h('p', { class: 'muted' }, 'Loading…'); }

/** Replaces the children of `el`. */
export function render(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' }, h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}
