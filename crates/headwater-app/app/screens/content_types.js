// Content types and global fields: list, and a field builder with a raw JSON view
// (/v3/content_types, /v3/global_fields). The server validates; its errors are shown as sent.
import { api } from '../api.js';
import { h, render, field, checkbox, button, errorBox, confirmDialog, table, toast, fmtDate, select } from '../ui.js';

const KINDS = [
  ['text', 'Single line text'], ['multiline', 'Multi line text'], ['number', 'Number'], ['boolean', 'Boolean'],
  ['isodate', 'Date'], ['file', 'File'], ['link', 'Link'], ['reference', 'Reference'], ['select', 'Select'],
  ['group', 'Group'], ['blocks', 'Modular blocks'], ['json', 'JSON'], ['global_field', 'Global field'],
];

export function kindOf(f) {
  if (f.data_type === 'text' && f.enum) return 'select';
  if (f.data_type === 'text' && f.field_metadata?.multiline) return 'multiline';
  return f.data_type;
}

function slug(s) { return s.toLowerCase().trim().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^(\d)/, '_$1') || ''; }

function newField(kind, n) {
  const f = { display_name: `Field ${n}`, uid: `field_${n}`, data_type: kind === 'multiline' || kind === 'select' ? 'text' : kind, mandatory: false, multiple: false, unique: false };
  if (kind === 'multiline') f.field_metadata = { multiline: true };
  if (kind === 'select') { f.display_type = 'dropdown'; f.enum = { advanced: false, choices: [{ value: 'one' }, { value: 'two' }] }; }
  if (kind === 'reference') { f.reference_to = []; f.field_metadata = { ref_multiple: false }; }
  if (kind === 'group') f.schema = [];
  if (kind === 'blocks') { f.blocks = []; f.multiple = true; }
  if (kind === 'global_field') f.reference_to = '';
  return f;
}

export async function show(main, app, { apiKey, section, rest }) {
  const gf = section === 'global-fields';
  const path = gf ? '/v3/global_fields' : '/v3/content_types';
  const key = gf ? 'global_field' : 'content_type';
  const label = gf ? 'Global fields' : 'Content types';
  if (rest[0]) return editor(main, app, { apiKey, gf, path, key, uid: rest[0] === 'new' ? null : rest[0] });
  let list;
  try { list = (await api('GET', path, { stack: apiKey, query: { include_count: true } }))[gf ? 'global_fields' : 'content_types']; } catch (e) { render(main, h('h1', {}, label), errorBox(e)); return; }
  const rows = list.map((c) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/s/${apiKey}/${section}/${c.uid}` }, c.title)),
    h('td', {}, h('code', {}, c.uid)),
    h('td', {}, String((c.schema || []).length)),
    h('td', {}, fmtDate(c.updated_at)),
    gf ? null : h('td', {}, h('a', { href: `#/s/${apiKey}/entries/${c.uid}` }, 'Entries'))));
  render(main, h('h1', {}, label),
    h('div', { class: 'toolbar' }, h('a', { href: `#/s/${apiKey}/${section}/new`, class: 'button-link', id: 'new-schema' }, gf ? 'New global field' : 'New content type')),
    list.length ? table(gf ? ['Title', 'UID', 'Fields', 'Updated'] : ['Title', 'UID', 'Fields', 'Updated', ''], rows) : h('p', { class: 'muted' }, `No ${label.toLowerCase()} yet.`));
}

async function editor(main, app, { apiKey, gf, path, key, uid }) {
  const section = gf ? 'global-fields' : 'content-types';
  let doc = { title: '', uid: '', schema: gf ? [] : [{ display_name: 'Title', uid: 'title', data_type: 'text', mandatory: true, unique: true, multiple: false }] };
  const [cts, gfs] = await Promise.all([
    api('GET', '/v3/content_types', { stack: apiKey }).then((r) => r.content_types).catch(() => []),
    api('GET', '/v3/global_fields', { stack: apiKey }).then((r) => r.global_fields).catch(() => []),
  ]);
  if (uid) {
    try { doc = (await api('GET', `${path}/${uid}`, { stack: apiKey }))[key]; } catch (e) { render(main, h('h1', {}, 'Not found'), errorBox(e)); return; }
  }
  const ctx = { cts, gfs, counter: 1 };
  const title = h('input', { id: 'schema-title', required: true, value: doc.title });
  const uidIn = h('input', { id: 'schema-uid', required: true, value: doc.uid, readonly: !!uid, pattern: '[a-z0-9_]+' });
  let uidTouched = !!uid;
  uidIn.addEventListener('input', () => { uidTouched = true; });
  title.addEventListener('input', () => { if (!uidTouched) uidIn.value = slug(title.value); });
  const msg = h('div', { id: 'schema-message' });
  const builderEl = h('div', { class: 'builder', id: 'builder' });
  const raw = h('textarea', { class: 'code', id: 'raw-json', spellcheck: 'false', 'aria-label': 'Schema as JSON' });
  const rawWrap = h('div', { hidden: true }, raw, h('p', { class: 'hint' }, 'The whole schema array. Switch back to the builder to check it.'));
  const tabB = h('button', { type: 'button', role: 'tab', 'aria-selected': 'true', id: 'tab-builder' }, 'Builder');
  const tabJ = h('button', { type: 'button', role: 'tab', 'aria-selected': 'false', id: 'tab-json' }, 'JSON');
  let mode = 'builder';
  const toJson = () => { raw.value = JSON.stringify(doc.schema, null, 2); };
  const fromJson = () => {
    try { const v = JSON.parse(raw.value); if (!Array.isArray(v)) throw new Error('The schema must be a JSON array.'); doc.schema = v; return true; } catch (e) { render(msg, errorBox(e)); return false; }
  };
  tabB.addEventListener('click', () => { if (mode === 'json' && !fromJson()) return; mode = 'builder'; render(msg); rawWrap.hidden = true; builderEl.hidden = false; tabB.setAttribute('aria-selected', 'true'); tabJ.setAttribute('aria-selected', 'false'); draw(); });
  tabJ.addEventListener('click', () => { mode = 'json'; toJson(); rawWrap.hidden = false; builderEl.hidden = true; tabJ.setAttribute('aria-selected', 'true'); tabB.setAttribute('aria-selected', 'false'); });

  const draw = () => render(builderEl, schemaEditor(doc.schema, ctx, draw, 'Fields'));
  draw();

  const form = h('form', {},
    h('div', { class: 'row' }, field('Title', title), field('UID', uidIn, uid ? 'The UID cannot change.' : 'Lowercase letters, digits and underscores.')),
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Schema view' }, tabB, tabJ),
    builderEl, rawWrap, msg,
    h('div', { class: 'actions' },
      uid ? button('Delete', async () => {
        if (!(await confirmDialog(`Delete ${doc.title}?`, gf ? 'The global field is deleted.' : 'The content type and all its entries are deleted.'))) return;
        try { await api('DELETE', `${path}/${uid}`, { stack: apiKey, query: gf ? undefined : { force: true } }); toast('Deleted.'); app.go(`/s/${apiKey}/${section}`); } catch (e) { render(msg, errorBox(e)); }
      }, { class: 'danger' }) : null,
      h('a', { href: `#/s/${apiKey}/${section}` }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'schema-save' }, uid ? 'Save' : 'Create')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    if (mode === 'json' && !fromJson()) return;
    const body = { [key]: { ...doc, title: title.value.trim(), uid: uidIn.value.trim(), schema: doc.schema } };
    try {
      const r = uid ? await api('PUT', `${path}/${uid}`, { stack: apiKey, body }) : await api('POST', path, { stack: apiKey, body });
      toast(r.notice || 'Saved.');
      app.go(`/s/${apiKey}/${section}/${r[key].uid}`);
      if (uid) app.refresh();
    } catch (e) { render(msg, errorBox(e)); }
  });
  render(main, h('h1', {}, uid ? `${gf ? 'Global field' : 'Content type'}: ${doc.title}` : (gf ? 'New global field' : 'New content type')), form);
}

/** The editor of one schema array (fields), used recursively for groups and blocks. */
function schemaEditor(schema, ctx, redraw, legend) {
  const kind = select(KINDS, { 'aria-label': `Type of the new field in ${legend}` });
  const add = button('Add field', () => { schema.push(newField(kind.value, ctx.counter++ + schema.length)); redraw(); }, { class: 'add-field' });
  return h('fieldset', {}, h('legend', {}, legend),
    schema.map((f, i) => fieldRow(schema, i, ctx, redraw)),
    h('div', { class: 'toolbar' }, kind, add));
}

function fieldRow(schema, i, ctx, redraw) {
  const f = schema[i];
  const k = kindOf(f);
  const name = h('input', { value: f.display_name || '', class: 'f-name' });
  const uid = h('input', { value: f.uid || '', class: 'f-uid', pattern: '[a-z0-9_]+' });
  name.addEventListener('input', () => { f.display_name = name.value; });
  uid.addEventListener('input', () => { f.uid = uid.value; });
  const flag = (prop, text) => {
    const c = checkbox(text, { checked: !!f[prop] });
    c.querySelector('input').addEventListener('change', (e) => { f[prop] = e.target.checked; });
    return c;
  };
  const extra = [];
  if (k === 'reference') {
    const sel = h('select', { multiple: true, size: Math.min(4, Math.max(2, ctx.cts.length)), class: 'f-ref' },
      ctx.cts.map((c) => h('option', { value: c.uid, selected: (f.reference_to || []).includes(c.uid) }, c.title)));
    sel.addEventListener('change', () => { f.reference_to = [...sel.selectedOptions].map((o) => o.value); });
    extra.push(field('Referenced content types', sel));
  }
  if (k === 'global_field') {
    const sel = select([['', 'Choose…'], ...ctx.gfs.map((g) => [g.uid, g.title])], { value: f.reference_to || '', class: 'f-gf' });
    sel.addEventListener('change', () => { f.reference_to = sel.value; });
    extra.push(field('Global field', sel));
  }
  if (k === 'select') {
    const choices = h('input', { value: (f.enum?.choices || []).map((c) => c.value).join(', '), class: 'f-choices' });
    choices.addEventListener('input', () => { f.enum = { advanced: false, choices: choices.value.split(',').map((s) => s.trim()).filter(Boolean).map((value) => ({ value })) }; });
    extra.push(field('Choices (comma separated)', choices));
  }
  let nested = null;
  if (k === 'group') {
    f.schema = f.schema || [];
    nested = h('div', { class: 'nested' }, schemaEditor(f.schema, ctx, redraw, `Fields of ${f.display_name || f.uid}`));
  }
  if (k === 'blocks') {
    f.blocks = f.blocks || [];
    const blockName = h('input', { 'aria-label': `New block title in ${f.display_name}`, placeholder: 'Block title' });
    nested = h('div', { class: 'nested' },
      f.blocks.map((b, bi) => {
        const bt = h('input', { value: b.title || '', 'aria-label': 'Block title' });
        bt.addEventListener('input', () => { b.title = bt.value; });
        return h('div', {}, h('div', { class: 'toolbar' }, h('strong', {}, `Block ${b.uid}`), bt,
          button('Remove block', () => { f.blocks.splice(bi, 1); redraw(); }, { class: 'danger' })),
        schemaEditor(b.schema = b.schema || [], ctx, redraw, `Fields of block ${b.title || b.uid}`));
      }),
      h('div', { class: 'toolbar' }, blockName, button('Add block', () => {
        const t = blockName.value.trim() || `Block ${f.blocks.length + 1}`;
        f.blocks.push({ title: t, uid: slug(t) || `block_${f.blocks.length + 1}`, schema: [] });
        redraw();
      })));
  }
  const move = (d) => { const j = i + d; if (j < 0 || j >= schema.length) return; [schema[i], schema[j]] = [schema[j], schema[i]]; redraw(); };
  return h('div', { class: 'fieldrow', dataset: { uid: f.uid } },
    h('span', { class: 'badge' }, (KINDS.find(([x]) => x === k) || [k, k])[1]),
    field('Display name', name), field('UID', uid), ...extra,
    flag('mandatory', 'Required'), flag('multiple', 'Multiple'), k === 'text' || k === 'number' ? flag('unique', 'Unique') : null,
    h('span', {},
      button('↑', () => move(-1), { 'aria-label': `Move ${f.display_name} up`, disabled: i === 0 }),
      button('↓', () => move(1), { 'aria-label': `Move ${f.display_name} down`, disabled: i === schema.length - 1 }),
      button('Remove', () => { schema.splice(i, 1); redraw(); }, { class: 'danger', 'aria-label': `Remove ${f.display_name}` })),
    nested);
}
