// Entries: list per content type (search, paging, locale), an edit form generated from the
// schema, version history with a diff, publish/unpublish, and the workflow stage.
import { api, upload } from '../api.js';
import { h, render, field, checkbox, button, errorBox, modal, table, toast, fmtDate, select, loading } from '../ui.js';

const PAGE = 25;
const SYSTEM = new Set(['_version', 'created_at', 'updated_at', 'created_by', 'updated_by', 'publish_details', '_in_progress', 'ACL', '_metadata', '_workflow', '_rules', 'tags', 'locale', 'uid']);

export async function show(main, app, { apiKey, rest }) {
  if (!rest[0]) return chooseType(main, apiKey);
  if (rest[1]) return editEntry(main, app, apiKey, rest[0], rest[1] === 'new' ? null : rest[1]);
  return listEntries(main, app, apiKey, rest[0]);
}

async function chooseType(main, apiKey) {
  const { content_types: cts } = await api('GET', '/v3/content_types', { stack: apiKey });
  render(main, h('h1', {}, 'Entries'), cts.length
    ? h('ul', {}, cts.map((c) => h('li', {}, h('a', { href: `#/s/${apiKey}/entries/${c.uid}` }, c.title))))
    : h('p', { class: 'muted' }, 'Create a content type first.'));
}

const listState = {}; // ct -> {skip, text, query, locale}

async function listEntries(main, app, apiKey, ct) {
  const st = listState[`${apiKey}/${ct}`] ||= { skip: 0, text: '', query: '', locale: '' };
  const [{ content_type: type }, { locales }, { environments: envs }] = await Promise.all([
    api('GET', `/v3/content_types/${ct}`, { stack: apiKey }),
    api('GET', '/v3/locales', { stack: apiKey }).catch(() => ({ locales: [] })),
    api('GET', '/v3/environments', { stack: apiKey }).catch(() => ({ environments: [] })),
  ]);
  const envName = (u) => (envs || []).find((e) => e.uid === u || e.name === u)?.name || u;
  const search = h('input', { type: 'search', id: 'entry-search', value: st.text, placeholder: 'Title contains…' });
  const advanced = h('input', { id: 'entry-query', value: st.query, placeholder: '{"field": {"$gt": 3}}', spellcheck: 'false' });
  const locale = select([['', `Master (${app.stack?.master_locale || 'default'})`], ...locales.map((l) => [l.code, `${l.name || l.code} (${l.code})`])], { id: 'entry-locale', value: st.locale });
  const out = h('div', {}, loading());
  const form = h('form', { class: 'toolbar', role: 'search' },
    field('Search titles', search), field('Query (JSON, the API’s operators)', advanced), field('Locale', locale),
    h('button', { type: 'submit' }, 'Search'));
  const load = async () => {
    let query;
    const q = {};
    if (st.text) q.title = { $regex: st.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), $options: 'i' };
    try { if (st.query) Object.assign(q, JSON.parse(st.query)); } catch { render(out, errorBox(new Error('The query is not valid JSON.'))); return; }
    if (Object.keys(q).length) query = JSON.stringify(q);
    try {
      const r = await api('GET', `/v3/content_types/${ct}/entries`, { stack: apiKey, query: { query, skip: st.skip, limit: PAGE, include_count: true, locale: st.locale || undefined, include_publish_details: true } });
      const rows = r.entries.map((e) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/s/${apiKey}/entries/${ct}/${e.uid}` }, e.title || e.uid)),
        h('td', {}, String(e._version)),
        h('td', {}, (e.publish_details || []).map((p) => h('span', { class: 'badge ok' }, `${envName(p.environment)} ${p.locale}`))),
        h('td', {}, fmtDate(e.updated_at))));
      const count = r.count ?? r.entries.length;
      const prev = button('Previous', () => { st.skip = Math.max(0, st.skip - PAGE); load(); }, { disabled: st.skip === 0 });
      const next = button('Next', () => { st.skip += PAGE; load(); }, { disabled: st.skip + PAGE >= count });
      render(out, rows.length ? table(['Title', 'Version', 'Published', 'Updated'], rows, { id: 'entry-list' }) : h('p', { class: 'muted' }, 'No entries match.'),
        h('div', { class: 'pager' }, prev, h('span', {}, count ? `${st.skip + 1}–${Math.min(st.skip + PAGE, count)} of ${count}` : '0'), next));
    } catch (e) { render(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); st.text = search.value.trim(); st.query = advanced.value.trim(); st.locale = locale.value; st.skip = 0; load(); });
  render(main, h('h1', {}, `Entries: ${type.title}`),
    h('div', { class: 'toolbar' }, h('a', { href: `#/s/${apiKey}/entries/${ct}/new`, id: 'new-entry' }, 'New entry')), form, out);
  await load();
}

// ---- the form generated from the schema -----------------------------------------------------

function one(f, v, ctx, path) {
  const id = `e-${path.replace(/[^a-z0-9_]/gi, '-')}`;
  switch (f.data_type) {
    case 'number': { const i = h('input', { type: 'number', step: 'any', id, value: v ?? '' }); return { el: i, get: () => (i.value === '' ? null : Number(i.value)) }; }
    case 'boolean': { const i = h('input', { type: 'checkbox', id, checked: !!v }); return { el: i, get: () => i.checked }; }
    case 'isodate': { const i = h('input', { type: 'date', id, value: v ? String(v).slice(0, 10) : '' }); return { el: i, get: () => i.value || null }; }
    case 'json': {
      const i = h('textarea', { class: 'code', id, rows: 6, spellcheck: 'false' }, v === undefined || v === null ? '' : JSON.stringify(v, null, 2));
      i.style.minHeight = '6rem';
      return { el: i, get: () => { if (!i.value.trim()) return null; try { return JSON.parse(i.value); } catch { throw new Error(`${path}: not valid JSON.`); } } };
    }
    case 'link': {
      const t = h('input', { id, value: v?.title || '', 'aria-label': `${f.display_name} title`, placeholder: 'Title' });
      const u = h('input', { value: v?.href || '', 'aria-label': `${f.display_name} URL`, placeholder: 'https://…' });
      return { el: h('div', { class: 'row' }, t, u), get: () => (t.value || u.value ? { title: t.value, href: u.value } : null) };
    }
    case 'file': return filePicker(f, v, ctx, id);
    case 'reference': return refPicker(f, v, ctx, id);
    case 'group': case 'global_field': {
      const schema = f.data_type === 'global_field' ? (f.schema || ctx.gfs[f.reference_to]?.schema || []) : (f.schema || []);
      const sub = fieldsEditor(schema, v || {}, ctx, path);
      return { el: h('div', { class: 'nested', id }, sub.el), get: sub.get };
    }
    case 'blocks': return blocksEditor(f, v, ctx, path, id);
    default: {
      if (f.enum) {
        const s = select([['', '—'], ...(f.enum.choices || []).map((c) => String(c.value))], { id, value: v ?? '' });
        return { el: s, get: () => s.value || null };
      }
      const i = f.field_metadata?.multiline ? h('textarea', { id, rows: 4 }, v ?? '') : h('input', { id, value: v ?? '' });
      return { el: i, get: () => i.value };
    }
  }
}

function fieldEditor(f, v, ctx, path) {
  const label = `${f.display_name || f.uid}${f.mandatory ? ' *' : ''}`;
  // Reference and file fields hold a list themselves; blocks are always a list.
  if (f.multiple && !['reference', 'blocks'].includes(f.data_type)) {
    const items = Array.isArray(v) ? [...v] : [];
    const editors = [];
    const list = h('div', {});
    const addOne = (val) => {
      const ed = one(f, val, ctx, `${path}.${editors.length}`);
      const row = h('div', { class: 'toolbar' }, ed.el, button('Remove', () => { const k = editors.indexOf(ed); editors.splice(k, 1); row.remove(); }, { 'aria-label': `Remove a value of ${f.display_name}` }));
      ed.el.setAttribute?.('aria-label', f.display_name);
      editors.push(ed);
      list.append(row);
    };
    items.forEach(addOne);
    return { el: h('fieldset', { dataset: { field: f.uid } }, h('legend', {}, label), list, button(`Add ${f.display_name}`, () => addOne(undefined))),
      get: () => editors.map((e) => e.get()).filter((x) => x !== null && x !== '') };
  }
  const ed = one(f, v, ctx, path);
  if (['group', 'global_field', 'blocks'].includes(f.data_type)) {
    return { el: h('fieldset', { dataset: { field: f.uid } }, h('legend', {}, label), ed.el), get: ed.get };
  }
  const wrap = ed.el.id ? field(label, ed.el) : h('div', { class: 'field' }, h('span', { class: 'label' }, label), ed.el);
  wrap.dataset.field = f.uid;
  return { el: wrap, get: ed.get };
}

function fieldsEditor(schema, value, ctx, prefix) {
  const eds = schema.map((f) => [f.uid, fieldEditor(f, value[f.uid], ctx, prefix ? `${prefix}.${f.uid}` : f.uid)]);
  return { el: h('div', {}, eds.map(([, e]) => e.el)),
    get: () => { const o = {}; for (const [k, e] of eds) { const v = e.get(); if (v !== null && v !== undefined) o[k] = v; } return o; } };
}

function blocksEditor(f, v, ctx, path, id) {
  const editors = [];
  const list = h('div', { id });
  const add = (blockUid, val) => {
    const b = (f.blocks || []).find((x) => x.uid === blockUid);
    if (!b) return;
    const sub = fieldsEditor(b.schema || [], val || {}, ctx, `${path}.${blockUid}`);
    const item = { uid: blockUid, sub };
    const row = h('div', { class: 'nested' }, h('div', { class: 'toolbar' }, h('strong', {}, b.title || b.uid),
      button('Remove block', () => { editors.splice(editors.indexOf(item), 1); row.remove(); })), sub.el);
    editors.push(item);
    list.append(row);
  };
  for (const item of Array.isArray(v) ? v : []) { const [k] = Object.keys(item); add(k, item[k]); }
  const kind = select((f.blocks || []).map((b) => [b.uid, b.title || b.uid]), { 'aria-label': `Block to add to ${f.display_name}` });
  return { el: h('div', {}, list, h('div', { class: 'toolbar' }, kind, button('Add block', () => add(kind.value)))),
    get: () => editors.map((e) => ({ [e.uid]: e.sub.get() })) };
}

function refPicker(f, v, ctx, id) {
  let refs = Array.isArray(v) ? [...v] : v ? [v] : [];
  const list = h('ul', { id, class: 'refs' });
  const draw = () => render(list, refs.map((r, i) => h('li', {}, `${r._content_type_uid}/${r.uid} `,
    button('Remove', () => { refs.splice(i, 1); draw(); }, { 'aria-label': `Remove reference ${r.uid}` }))));
  draw();
  const choose = button('Choose entry…', async () => {
    const picked = await pickEntry(ctx.apiKey, Array.isArray(f.reference_to) ? f.reference_to : [f.reference_to]);
    if (!picked) return;
    if (f.field_metadata?.ref_multiple || f.multiple) refs.push(picked); else refs = [picked];
    draw();
  }, { class: 'pick-ref', 'aria-label': `Choose an entry for ${f.display_name}` });
  return { el: h('div', {}, list, choose), get: () => refs.map((r) => ({ uid: r.uid, _content_type_uid: r._content_type_uid })) };
}

function pickEntry(apiKey, cts) {
  return modal('Choose an entry', (close) => {
    const ct = select(cts, { id: 'pick-ct' });
    const q = h('input', { type: 'search', id: 'pick-q' });
    const out = h('div', {});
    const run = async () => {
      const query = q.value ? JSON.stringify({ title: { $regex: q.value, $options: 'i' } }) : undefined;
      try {
        const r = await api('GET', `/v3/content_types/${ct.value}/entries`, { stack: apiKey, query: { query, limit: 20 } });
        render(out, r.entries.length ? h('ul', {}, r.entries.map((e) => h('li', {}, button(e.title || e.uid, () => close({ uid: e.uid, _content_type_uid: ct.value }), { class: 'pick' }))))
          : h('p', { class: 'muted' }, 'No entries.'));
      } catch (e) { render(out, errorBox(e)); }
    };
    const form = h('form', {}, h('div', { class: 'row' }, field('Content type', ct), field('Title contains', q)), h('button', { type: 'submit' }, 'Search'), out,
      h('div', { class: 'actions' }, button('Cancel', () => close(null))));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
    run();
    return form;
  });
}

function filePicker(f, v, ctx, id) {
  let uid = typeof v === 'string' ? v : v?.uid || null;
  const label = h('span', { id }, uid ? `Asset ${uid}` : 'No file');
  const pick = button('Choose asset…', async () => {
    const chosen = await pickAsset(ctx.apiKey);
    if (chosen) { uid = chosen.uid; label.textContent = `${chosen.filename || chosen.title} (${chosen.uid})`; }
  }, { class: 'pick-asset', 'aria-label': `Choose an asset for ${f.display_name}` });
  const clear = button('Clear', () => { uid = null; label.textContent = 'No file'; });
  return { el: h('div', { class: 'toolbar' }, label, pick, clear), get: () => uid };
}

export function pickAsset(apiKey) {
  return modal('Choose an asset', (close) => {
    const out = h('div', {}, loading());
    const file = h('input', { type: 'file', id: 'pick-upload' });
    const bar = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
    const load = async () => {
      try {
        const { assets } = await api('GET', '/v3/assets', { stack: apiKey, query: { limit: 50 } });
        render(out, assets.length ? h('ul', {}, assets.map((a) => h('li', {}, button(`${a.filename} (${a.content_type})`, () => close(a), { class: 'pick' })))) : h('p', { class: 'muted' }, 'No assets yet.'));
      } catch (e) { render(out, errorBox(e)); }
    };
    file.addEventListener('change', async () => {
      if (!file.files[0]) return;
      const fd = new FormData();
      fd.append('asset[upload]', file.files[0]);
      bar.hidden = false;
      try {
        const r = await upload('POST', '/v3/assets', fd, { stack: apiKey, onProgress: (p) => { bar.value = p; } });
        close(r.asset);
      } catch (e) { render(out, errorBox(e)); } finally { bar.hidden = true; }
    });
    load();
    return h('div', {}, field('Upload a new file', file), bar, out, h('div', { class: 'actions' }, button('Cancel', () => close(null))));
  });
}

// ---- one entry ------------------------------------------------------------------------------

async function editEntry(main, app, apiKey, ct, uid) {
  const [{ content_type: type }, gfs, entryR, envs, locales] = await Promise.all([
    api('GET', `/v3/content_types/${ct}`, { stack: apiKey }),
    api('GET', '/v3/global_fields', { stack: apiKey }).then((r) => Object.fromEntries(r.global_fields.map((g) => [g.uid, g]))).catch(() => ({})),
    uid ? api('GET', `/v3/content_types/${ct}/entries/${uid}`, { stack: apiKey, query: { include_publish_details: true } }) : Promise.resolve({ entry: {} }),
    api('GET', '/v3/environments', { stack: apiKey }).then((r) => r.environments).catch(() => []),
    api('GET', '/v3/locales', { stack: apiKey }).then((r) => r.locales).catch(() => []),
  ]);
  const entry = entryR.entry;
  const ctx = { apiKey, gfs };
  const ed = fieldsEditor(type.schema, entry, ctx, '');
  const msg = h('div', { id: 'entry-message' });
  const form = h('form', { id: 'entry-form' }, ed.el, msg,
    h('div', { class: 'actions' }, h('a', { href: `#/s/${apiKey}/entries/${ct}` }, 'Back to list'),
      h('button', { type: 'submit', class: 'primary', id: 'entry-save' }, uid ? 'Save' : 'Create entry')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    let data;
    try { data = ed.get(); } catch (e) { render(msg, errorBox(e)); return; }
    try {
      const r = uid ? await api('PUT', `/v3/content_types/${ct}/entries/${uid}`, { stack: apiKey, body: { entry: data } })
        : await api('POST', `/v3/content_types/${ct}/entries`, { stack: apiKey, body: { entry: data } });
      toast(r.notice || 'Saved.');
      if (uid) app.refresh(); else app.go(`/s/${apiKey}/entries/${ct}/${r.entry.uid}`);
    } catch (e) { render(msg, errorBox(e)); }
  });
  const side = uid ? [publishPanel(apiKey, ct, entry, envs, locales, app), workflowPanel(apiKey, ct, entry, envs, app), versionsPanel(apiKey, ct, entry)] : [];
  render(main, h('h1', {}, uid ? `${type.title}: ${entry.title || uid}` : `New ${type.title}`),
    uid ? h('p', { class: 'muted' }, `Version ${entry._version} · updated ${fmtDate(entry.updated_at)}`) : null,
    form, side);
}

function publishPanel(apiKey, ct, entry, envs, locales, app) {
  const envBoxes = envs.map((e) => checkbox(e.name, { name: 'pub-env', value: e.name }));
  const locBoxes = (locales.length ? locales.map((l) => l.code) : [entry.locale]).map((c) => checkbox(c, { name: 'pub-locale', value: c, checked: c === entry.locale }));
  const msg = h('div', { id: 'publish-message' });
  const box = h('section', { class: 'card', 'aria-labelledby': 'pub-h' });
  const act = async (what) => {
    render(msg);
    const environments = [...box.querySelectorAll('input[name="pub-env"]:checked')].map((c) => c.value);
    const locs = [...box.querySelectorAll('input[name="pub-locale"]:checked')].map((c) => c.value);
    try {
      const r = await api('POST', `/v3/content_types/${ct}/entries/${entry.uid}/${what}`, { stack: apiKey, body: { entry: { environments, locales: locs }, locale: entry.locale, version: entry._version } });
      toast(r.notice || 'Done.');
      app.refresh();
    } catch (e) { render(msg, errorBox(e)); }
  };
  const envName = (u) => envs.find((e) => e.uid === u || e.name === u)?.name || u;
  const published = (entry.publish_details || []).map((p) => h('span', { class: 'badge ok' }, `${envName(p.environment)} · ${p.locale} · v${p.version}`));
  render(box, h('h2', { id: 'pub-h' }, 'Publish'),
    published.length ? h('p', {}, 'Published: ', published) : h('p', { class: 'muted' }, 'Not published.'),
    h('fieldset', {}, h('legend', {}, 'Environments'), envBoxes.length ? h('div', { class: 'checks' }, envBoxes) : h('p', { class: 'muted' }, 'No environments.')),
    h('fieldset', {}, h('legend', {}, 'Locales'), h('div', { class: 'checks' }, locBoxes)),
    msg,
    h('div', { class: 'toolbar' }, button('Publish', () => act('publish'), { class: 'primary', id: 'publish' }), button('Unpublish', () => act('unpublish'), { id: 'unpublish' })));
  return box;
}

function workflowPanel(apiKey, ct, entry, envs, app) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'wf-h' });
  const msg = h('div');
  const envName = (u) => envs.find((e) => e.uid === u || e.name === u)?.name || u;
  render(box, h('h2', { id: 'wf-h' }, 'Workflow'), loading());
  Promise.all([
    api('GET', `/v3/content_types/${ct}/entries/${entry.uid}/workflow`, { stack: apiKey, query: { locale: entry.locale } }).then((r) => r.workflow).catch(() => ({})),
    api('GET', '/v3/workflows', { stack: apiKey }).catch(() => ({})),
  ]).then(([wf, r]) => {
    const stage = wf?.workflow_stage;
    const reqs = wf?.publish_requests || [];
    render(box, h('h2', { id: 'wf-h' }, 'Workflow'),
      stage ? h('p', {}, 'Current stage: ', h('strong', { id: 'wf-stage' }, stage.name || stage.uid)) : h('p', { class: 'muted' }, 'No workflow stage.'),
      h('h3', {}, 'Publish requests'),
      reqs.length ? table(['Action', 'Environment', 'Locale', 'Version', 'Status', 'Requested', 'Decision'], reqs.map((q) => h('tr', {},
        h('td', {}, q.action), h('td', {}, q.environment_name || envName(q.environment)), h('td', {}, q.locale), h('td', {}, String(q.version)),
        h('td', {}, h('span', { class: `badge ${q.status === 'pending' ? '' : q.status === 'rejected' ? 'bad' : 'ok'}` }, q.status)),
        h('td', {}, fmtDate(q.requested_at)),
        h('td', {}, q.decision_comment || '—'))), { id: 'publish-requests' })
        : h('p', { class: 'muted' }, 'None. A publish held by a publish rule sends one to its approvers.'),
      msg);
    // The enabled workflows that cover this content type.
    const wfs = (r.workflows || []).filter((w) => w.enabled !== false && (w.content_types || []).some((c) => c === ct || c === '$all'));
    const stages = wfs.flatMap((w) => (w.workflow_stages || []).map((x) => [x.uid, `${w.name}: ${x.name}`]));
    if (!stages.length) return;
    const sel = select(stages, { id: 'wf-next', value: stage?.uid });
    const comment = h('input', { id: 'wf-comment' });
    const go = button('Move to stage', async () => {
      try {
        const r2 = await api('POST', `/v3/content_types/${ct}/entries/${entry.uid}/workflow`, { stack: apiKey, query: { locale: entry.locale }, body: { workflow: { workflow_stage: { uid: sel.value, comment: comment.value, notify: false } } } });
        toast(r2.notice || 'Stage changed.'); app.refresh();
      } catch (e) { render(msg, errorBox(e)); }
    }, { id: 'wf-move' });
    box.append(h('div', { class: 'row' }, field('Stage', sel), field('Comment', comment)), go);
  });
  return box;
}

function flatten(v, prefix, out) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (!(prefix === '' && SYSTEM.has(k))) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else out[prefix] = JSON.stringify(v);
  return out;
}

function versionsPanel(apiKey, ct, entry) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'ver-h' });
  const out = h('div', { id: 'diff' });
  render(box, h('h2', { id: 'ver-h' }, 'Versions'), loading());
  api('GET', `/v3/content_types/${ct}/entries/${entry.uid}/versions`, { stack: apiKey, query: { locale: entry.locale } }).then(({ versions }) => {
    const opts = versions.map((v) => [String(v._version), `Version ${v._version} · ${fmtDate(v.created_at)}`]);
    const a = select(opts, { id: 'ver-a', value: String(Math.max(1, entry._version - 1)) });
    const b = select(opts, { id: 'ver-b', value: String(entry._version) });
    const compare = button('Compare', async () => {
      try {
        const [x, y] = await Promise.all([a.value, b.value].map((n) => api('GET', `/v3/content_types/${ct}/entries/${entry.uid}`, { stack: apiKey, query: { version: n, locale: entry.locale } }).then((r) => r.entry)));
        const fx = flatten(x, '', {}); const fy = flatten(y, '', {});
        const keys = [...new Set([...Object.keys(fx), ...Object.keys(fy)])].sort().filter((k) => fx[k] !== fy[k]);
        render(out, keys.length ? table(['Field', `Version ${a.value}`, `Version ${b.value}`], keys.map((k) => h('tr', {},
          h('th', { scope: 'row' }, k), h('td', {}, fx[k] === undefined ? '—' : h('del', {}, fx[k])), h('td', {}, fy[k] === undefined ? '—' : h('ins', {}, fy[k])))), { class: 'diff' })
          : h('p', { class: 'muted' }, 'These versions have the same content.'));
      } catch (e) { render(out, errorBox(e)); }
    }, { id: 'ver-compare' });
    render(box, h('h2', { id: 'ver-h' }, 'Versions'), h('p', { class: 'muted' }, `${versions.length} version${versions.length === 1 ? '' : 's'}`),
      h('div', { class: 'toolbar' }, field('From', a), field('To', b), compare), out);
  }).catch((e) => render(box, h('h2', { id: 'ver-h' }, 'Versions'), errorBox(e)));
  return box;
}
