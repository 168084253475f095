// Stack settings screens: locales, branches and aliases, webhooks (executions, retry),
// releases (items, deploy), labels, the audit log, users and roles. Each calls the public /v3 API.
import { api } from '../api.js';
import { h, render, field, select, checkbox, button, errorBox, confirmDialog, table, toast, fmtDate, modal } from '../ui.js';

const enc = encodeURIComponent;
const none = (t) => h('p', { class: 'muted' }, t);

// A form card whose submit runs `send` and shows the API's refusal in `msg`.
function form(id, title, controls, label, send, msg) {
  const f = h('form', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), h('div', { class: 'row' }, controls),
    h('button', { type: 'submit', class: 'primary' }, label));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    try { await send(); } catch (e) { render(msg, errorBox(e)); }
  });
  return f;
}

// A delete button that confirms, calls the API and refreshes.
function del(what, text, call, app, msg) {
  return button('Delete', async () => {
    if (!(await confirmDialog(`Delete ${what}?`, text))) return;
    try { await call(); toast('Deleted.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
  }, { class: 'danger', 'aria-label': `Delete ${what}` });
}

async function load(main, title, calls) {
  try { return await Promise.all(calls); } catch (e) { render(main, h('h1', {}, title), errorBox(e)); return null; }
}

const SCREENS = {
  async locales(main, app, apiKey, msg) {
    const r = await load(main, 'Locales', [api('GET', '/v3/locales', { stack: apiKey })]);
    if (!r) return;
    const { locales = [] } = r[0];
    const code = h('input', { id: 'locale-code', required: true, placeholder: 'fr-fr' });
    const name = h('input', { id: 'locale-name', placeholder: 'French - France' });
    const fb = select([['', '(master)'], ...locales.map((l) => [l.code, l.code])], { id: 'locale-fallback' });
    const rows = locales.map((l) => h('tr', {}, h('th', { scope: 'row' }, l.code), h('td', {}, l.name || ''),
      h('td', {}, l.fallback_locale || '—'), h('td', {}, l.code === app.stack?.master_locale ? 'master' : del(l.code, `The locale “${l.code}” is removed from the stack.`,
        () => api('DELETE', `/v3/locales/${enc(l.code)}`, { stack: apiKey }), app, msg))));
    render(main, h('h1', {}, 'Locales'), msg, table(['Code', 'Name', 'Fallback', 'Actions'], rows, { id: 'locales-table' }),
      form('new-locale', 'Add a locale', [field('Code', code), field('Name', name), field('Fallback locale', fb)], 'Add locale', async () => {
        const locale = { code: code.value.trim() };
        if (name.value) locale.name = name.value;
        if (fb.value) locale.fallback_locale = fb.value;
        await api('POST', '/v3/locales', { stack: apiKey, body: { locale } });
        toast('Locale added.'); app.refresh();
      }, msg));
  },

  async branches(main, app, apiKey, msg) {
    const r = await load(main, 'Branches and aliases', [api('GET', '/v3/stacks/branches', { stack: apiKey, noBranch: true }),
      api('GET', '/v3/stacks/branch_aliases', { stack: apiKey, noBranch: true })]);
    if (!r) return;
    const branches = r[0].branches || [];
    const aliases = r[1].branch_aliases || [];
    const uid = h('input', { id: 'branch-uid', required: true, pattern: '[a-z0-9_]{1,15}' });
    const src = select(branches.map((b) => b.uid), { id: 'branch-source', value: 'main' });
    const auid = h('input', { id: 'alias-uid', required: true });
    const target = select(branches.map((b) => b.uid), { id: 'alias-target' });
    render(main, h('h1', {}, 'Branches and aliases'), msg,
      table(['Branch', 'Source', 'Aliases', 'Created', 'Actions'], branches.map((b) => h('tr', {}, h('th', { scope: 'row' }, b.uid),
        h('td', {}, b.source || '—'), h('td', {}, (b.alias || []).map((a) => a.uid).join(', ') || '—'), h('td', {}, fmtDate(b.created_at)),
        h('td', {}, b.uid === 'main' ? '' : del(`branch ${b.uid}`, `The branch “${b.uid}” and its content are deleted.`,
          () => api('DELETE', `/v3/stacks/branches/${enc(b.uid)}`, { stack: apiKey, noBranch: true, query: { force: true } }), app, msg)))), { id: 'branches-table' }),
      form('new-branch', 'Create a branch', [field('Branch uid', uid, 'At most 15 lowercase letters, digits or _.'), field('Copied from', src)], 'Create branch', async () => {
        await api('POST', '/v3/stacks/branches', { stack: apiKey, noBranch: true, body: { branch: { uid: uid.value.trim(), source: src.value } } });
        toast('Branch created.'); app.refresh();
      }, msg),
      h('h2', {}, 'Aliases'),
      aliases.length ? table(['Alias', 'Points to', 'Actions'], aliases.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.alias || a.uid),
        h('td', {}, a.uid && a.alias ? a.uid : (a.target_branch || a.source || '')),
        h('td', {}, del(`alias ${a.alias || a.uid}`, 'The alias is removed; the branch stays.',
          () => api('DELETE', `/v3/stacks/branch_aliases/${enc(a.alias || a.uid)}`, { stack: apiKey, noBranch: true, query: { force: true } }), app, msg)))), { id: 'aliases-table' })
        : none('No aliases yet.'),
      form('new-alias', 'Point an alias at a branch', [field('Alias uid', auid), field('Branch', target)], 'Save alias', async () => {
        await api('PUT', `/v3/stacks/branch_aliases/${enc(auid.value.trim())}`, { stack: apiKey, noBranch: true, body: { branch_alias: { target_branch: target.value } } });
        toast('Alias saved.'); app.refresh();
      }, msg));
  },

  async webhooks(main, app, apiKey, msg, rest) {
    if (rest[0]) return executions(main, app, apiKey, msg, rest[0]);
    const r = await load(main, 'Webhooks', [api('GET', '/v3/webhooks', { stack: apiKey })]);
    if (!r) return;
    const { webhooks = [] } = r[0];
    const name = h('input', { id: 'hook-name', required: true });
    const url = h('input', { id: 'hook-url', type: 'url', required: true, placeholder: 'https://example.com/hook' });
    const channels = h('input', { id: 'hook-channels', value: 'content_types.entries.create' });
    const policy = select([['manual', 'Retry by hand'], ['auto', 'Retry automatically']], { id: 'hook-retry' });
    render(main, h('h1', {}, 'Webhooks'), msg,
      webhooks.length ? table(['Name', 'Destination', 'Channels', 'State', 'Actions'], webhooks.map((w) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/s/${apiKey}/webhooks/${enc(w.uid)}` }, w.name)),
        h('td', {}, (w.destinations || []).map((d) => d.target_url).join(', ')),
        h('td', {}, (w.channels || []).join(', ')), h('td', {}, w.disabled ? 'disabled' : 'enabled'),
        h('td', {}, del(`webhook ${w.name}`, 'The webhook and its executions are deleted.',
          () => api('DELETE', `/v3/webhooks/${enc(w.uid)}`, { stack: apiKey }), app, msg)))), { id: 'webhooks-table' }) : none('No webhooks yet.'),
      form('new-hook', 'Add a webhook', [field('Name', name), field('URL', url), field('Channels', channels, 'Comma-separated, e.g. content_types.entries.publish'), field('Retry policy', policy)], 'Add webhook', async () => {
        const webhook = { name: name.value.trim(), destinations: [{ target_url: url.value, http_basic_auth: '', http_basic_password: '', custom_header: [] }],
          channels: channels.value.split(',').map((s) => s.trim()).filter(Boolean), retry_policy: policy.value, disabled: false };
        await api('POST', '/v3/webhooks', { stack: apiKey, body: { webhook } });
        toast('Webhook added.'); app.refresh();
      }, msg));
  },

  async releases(main, app, apiKey, msg, rest) {
    if (rest[0]) return release(main, app, apiKey, msg, rest[0]);
    const r = await load(main, 'Releases', [api('GET', '/v3/releases', { stack: apiKey })]);
    if (!r) return;
    const { releases = [] } = r[0];
    const name = h('input', { id: 'release-name', required: true });
    const desc = h('input', { id: 'release-desc' });
    render(main, h('h1', {}, 'Releases'), msg,
      releases.length ? table(['Name', 'Items', 'Status', 'Actions'], releases.map((x) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/s/${apiKey}/releases/${enc(x.uid)}` }, x.name)),
        h('td', {}, String(x.items_count ?? (x.items || []).length)), h('td', {}, Array.isArray(x.status) && x.status.length ? `deployed ${x.status.length}×` : 'not deployed'),
        h('td', {}, del(`release ${x.name}`, 'The release is deleted (published content stays).',
          () => api('DELETE', `/v3/releases/${enc(x.uid)}`, { stack: apiKey }), app, msg)))), { id: 'releases-table' }) : none('No releases yet.'),
      form('new-release', 'Create a release', [field('Name', name), field('Description', desc)], 'Create release', async () => {
        const { release: rel } = await api('POST', '/v3/releases', { stack: apiKey, body: { release: { name: name.value.trim(), description: desc.value } } });
        toast('Release created.'); app.go(`/s/${apiKey}/releases/${rel.uid}`);
      }, msg));
  },

  async labels(main, app, apiKey, msg) {
    const r = await load(main, 'Labels', [api('GET', '/v3/labels', { stack: apiKey }), api('GET', '/v3/content_types', { stack: apiKey })]);
    if (!r) return;
    const labels = r[0].labels || [];
    const cts = r[1].content_types || [];
    const name = h('input', { id: 'label-name', required: true });
    const ctSel = h('select', { id: 'label-cts', multiple: true, size: Math.min(5, Math.max(2, cts.length)) }, cts.map((c) => h('option', { value: c.uid }, c.title)));
    render(main, h('h1', {}, 'Labels'), msg,
      labels.length ? table(['Label', 'Content types', 'Actions'], labels.map((l) => h('tr', {}, h('th', { scope: 'row' }, l.name),
        h('td', {}, (l.content_types || []).join(', ') || '—'),
        h('td', {}, del(`label ${l.name}`, 'The label is deleted.', () => api('DELETE', `/v3/labels/${enc(l.uid)}`, { stack: apiKey }), app, msg)))), { id: 'labels-table' }) : none('No labels yet.'),
      form('new-label', 'Add a label', [field('Name', name), field('Content types', ctSel)], 'Add label', async () => {
        await api('POST', '/v3/labels', { stack: apiKey, body: { label: { name: name.value.trim(), content_types: [...ctSel.selectedOptions].map((o) => o.value) } } });
        toast('Label added.'); app.refresh();
      }, msg));
  },

  async audit(main, app, apiKey, msg) {
    const page = 100;
    let skip = 0;
    const mod = h('input', { id: 'audit-module', placeholder: 'e.g. entry' });
    const ev = h('input', { id: 'audit-event', placeholder: 'e.g. create' });
    const who = h('input', { id: 'audit-actor', placeholder: 'user or token uid' });
    const out = h('div', { id: 'audit-out' });
    const info = h('p', { class: 'muted', id: 'audit-info' });
    let logs = [], total = 0;
    const draw = () => {
      const m = mod.value.trim().toLowerCase(), e = ev.value.trim().toLowerCase(), a = who.value.trim();
      const shown = logs.filter((l) => (!m || String(l.module).toLowerCase().includes(m)) && (!e || String(l.event_type).toLowerCase().includes(e)) && (!a || l.actor?.uid === a || l.created_by === a));
      info.textContent = `Entries ${skip + 1}–${skip + logs.length} of ${total}; ${shown.length} match the filters on this page.`;
      render(out, table(['When', 'Module', 'Event', 'Item', 'By'], shown.map((l) => h('tr', {}, h('td', {}, fmtDate(l.created_at)), h('td', {}, l.module),
        h('td', {}, l.event_type), h('td', {}, l.metadata?.title || l.metadata?.uid || ''), h('td', {}, `${l.actor?.type || ''} ${l.actor?.uid || ''}`))), { id: 'audit-table' }));
    };
    const fetchPage = async () => {
      render(msg);
      try { const r = await api('GET', '/v3/audit-logs', { stack: apiKey, query: { skip, limit: page, include_count: true } }); logs = r.logs || []; total = r.count ?? logs.length; draw(); } catch (e) { render(msg, errorBox(e)); }
    };
    for (const i of [mod, ev, who]) i.addEventListener('input', draw);
    const prev = button('Newer', () => { if (skip > 0) { skip = Math.max(0, skip - page); fetchPage(); } }, { id: 'audit-prev' });
    const next = button('Older', () => { if (skip + page < total) { skip += page; fetchPage(); } }, { id: 'audit-next' });
    render(main, h('h1', {}, 'Audit log'), msg,
      h('div', { class: 'card', role: 'search' }, h('div', { class: 'row' }, field('Module', mod), field('Event', ev), field('Actor uid', who))),
      info, out, h('div', { class: 'actions' }, prev, next));
    await fetchPage();
  },

  async users(main, app, apiKey, msg) {
    const r = await load(main, 'Users and roles', [api('GET', '/v3/stacks/users', { stack: apiKey }), api('GET', '/v3/roles', { stack: apiKey })]);
    if (!r) return;
    const users = r[0].stack?.collaborators || r[0].users || r[0].stack?.users || [];
    const roles = r[1].roles || [];
    const email = h('input', { id: 'share-email', type: 'email', required: true });
    const role = select(roles.map((x) => [x.uid, x.name]), { id: 'share-role' });
    const rname = h('input', { id: 'role-name', required: true });
    const modules = ['content_type', 'entry', 'asset', 'environment', 'locale', 'webhook', 'release', 'label'];
    const boxes = modules.map((m) => checkbox(m, { value: m, class: 'role-module' }));
    const rw = checkbox('may also create, update and delete', { id: 'role-write' });
    render(main, h('h1', {}, 'Users and roles'), msg,
      h('h2', {}, 'Users of this stack'),
      users.length ? table(['User', 'Roles'], users.map((u) => h('tr', {}, h('th', { scope: 'row' }, u.email || u.uid),
        h('td', {}, u.is_owner ? 'Owner of the stack' : (u.roles || []).map((x) => (typeof x === 'string' ? (roles.find((y) => y.uid === x)?.name || x) : x.name)).join(', ')))), { id: 'users-table' }) : none('No users listed.'),
      form('share-stack', 'Share the stack', [field('Email', email), field('Role', role)], 'Share', async () => {
        const e = email.value.trim();
        await api('POST', '/v3/stacks/share', { stack: apiKey, body: { emails: [e], roles: { [e]: [role.value] } } });
        toast('Stack shared.'); app.refresh();
      }, msg),
      h('h2', {}, 'Roles'),
      table(['Role', 'Description', 'Rules', 'Actions'], roles.map((x) => h('tr', {}, h('th', { scope: 'row' }, x.name), h('td', {}, x.description || ''),
        h('td', {}, (x.rules || []).map((u) => u.module).join(', ') || '—'),
        h('td', {}, x.default ? 'built in' : del(`role ${x.name}`, 'The role is deleted.', () => api('DELETE', `/v3/roles/${enc(x.uid)}`, { stack: apiKey }), app, msg)))), { id: 'roles-table' }),
      form('new-role', 'Create a role', [field('Name', rname), h('fieldset', {}, h('legend', {}, 'Modules'), boxes, rw)], 'Create role', async () => {
        const write = rw.querySelector('input').checked;
        const acl = { read: true, create: write, update: write, delete: write, publish: write };
        const rules = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => ({ module: i.value, acl }));
        await api('POST', '/v3/roles', { stack: apiKey, body: { role: { name: rname.value.trim(), rules } } });
        toast('Role created.'); app.refresh();
      }, msg));
  },
};

async function executions(main, app, apiKey, msg, hookUid) {
  const r = await load(main, 'Webhook', [api('GET', `/v3/webhooks/${enc(hookUid)}`, { stack: apiKey }), api('GET', `/v3/webhooks/${enc(hookUid)}/executions`, { stack: apiKey })]);
  if (!r) return;
  const w = r[0].webhook || {};
  const list = r[1].webhooks || [];
  render(main, h('h1', {}, `Webhook: ${w.name}`), msg, h('p', {}, h('a', { href: `#/s/${apiKey}/webhooks` }, '← All webhooks')),
    h('h2', {}, 'Executions'),
    list.length ? table(['When', 'Channel', 'HTTP status', 'State', 'Attempts', 'Actions'], list.map((x) => h('tr', {},
      h('td', {}, fmtDate(x.created_at)), h('td', {}, (x.channel || []).join(', ')), h('td', { class: 'exec-status' }, String(x.status || '—')),
      h('td', { class: 'exec-state' }, x.state || ''), h('td', {}, String(x.attempts ?? '')),
      h('td', {}, button('Retry', async () => {
        try { const res = await api('POST', `/v3/webhooks/${enc(hookUid)}/retry`, { stack: apiKey, body: { execution_uid: x.uid } }); toast(res.notice || 'Retry scheduled.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
      }, { 'aria-label': `Retry execution ${x.uid}` }),
      ' ', button('Details', () => modal('Execution', (close) => h('div', {},
        h('pre', { class: 'json' }, JSON.stringify(x.request_details || [], null, 2)), h('div', { class: 'actions' }, button('Close', () => close()))), { wide: true }))))), { id: 'exec-table' })
      : none('No executions yet.'),
    button('Reload', () => app.refresh(), { id: 'exec-reload' }));
}

async function release(main, app, apiKey, msg, uid) {
  const r = await load(main, 'Release', [api('GET', `/v3/releases/${enc(uid)}`, { stack: apiKey }), api('GET', `/v3/releases/${enc(uid)}/items`, { stack: apiKey }),
    api('GET', '/v3/environments', { stack: apiKey }), api('GET', '/v3/content_types', { stack: apiKey }), api('GET', '/v3/locales', { stack: apiKey })]);
  if (!r) return;
  const rel = r[0].release || {};
  const items = r[1].items || [];
  const envs = r[2].environments || [];
  const cts = r[3].content_types || [];
  const locales = r[4].locales || [];
  const ct = select(cts.map((c) => [c.uid, c.title]), { id: 'item-ct' });
  const entry = select([], { id: 'item-entry' });
  const action = select(['publish', 'unpublish'], { id: 'item-action' });
  const loadEntries = async () => {
    if (!ct.value) return;
    try { const { entries = [] } = await api('GET', `/v3/content_types/${enc(ct.value)}/entries`, { stack: apiKey, query: { limit: 100 } }); render(entry, entries.map((e) => h('option', { value: `${e.uid}|${e._version}|${e.locale || ''}` }, e.title || e.uid))); } catch (e) { render(msg, errorBox(e)); }
  };
  ct.addEventListener('change', loadEntries);
  const envBoxes = envs.map((e) => checkbox(e.name, { value: e.name, class: 'deploy-env' }));
  const locBoxes = locales.map((l) => checkbox(l.code, { value: l.code, class: 'deploy-locale', checked: l.code === app.stack?.master_locale }));
  const checked = (bs) => bs.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  const deploy = h('form', { class: 'card', 'aria-labelledby': 'deploy-h' }, h('h2', { id: 'deploy-h' }, 'Deploy'),
    h('fieldset', {}, h('legend', {}, 'Environments'), envBoxes), h('fieldset', {}, h('legend', {}, 'Locales'), locBoxes),
    h('button', { type: 'submit', class: 'primary' }, 'Deploy release'));
  deploy.addEventListener('submit', async (ev) => {
    ev.preventDefault(); render(msg);
    try { const res = await api('POST', `/v3/releases/${enc(uid)}/deploy`, { stack: apiKey, body: { release: { environments: checked(envBoxes), locales: checked(locBoxes) } } }); toast(res.notice || 'Release deployed.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
  });
  render(main, h('h1', {}, `Release: ${rel.name}`), msg, h('p', {}, h('a', { href: `#/s/${apiKey}/releases` }, '← All releases')),
    rel.description ? h('p', {}, rel.description) : null,
    h('p', { id: 'release-status' }, `Deployments: ${(Array.isArray(rel.status) ? rel.status : []).map((d) => `${(d.environments || []).join(', ')} (${(d.locales || []).join(', ') || 'all locales'}) at ${fmtDate(d.deployed_at)}`).join('; ') || 'none yet'}`),
    items.length ? table(['Item', 'Type', 'Version', 'Locale', 'Action'], items.map((i) => h('tr', {}, h('th', { scope: 'row' }, i.title || i.uid),
      h('td', {}, i.content_type_uid || 'asset'), h('td', {}, String(i.version ?? '')), h('td', {}, i.locale || ''), h('td', {}, i.action || ''))), { id: 'release-items' }) : none('No items yet.'),
    form('add-item', 'Add an entry', [field('Content type', ct), field('Entry', entry), field('Action', action)], 'Add item', async () => {
      const [euid, ver, loc] = entry.value.split('|');
      if (!euid) throw new Error('Choose an entry.');
      await api('POST', `/v3/releases/${enc(uid)}/items`, { stack: apiKey, body: { items: [{ uid: euid, version: Number(ver), locale: loc || app.stack?.master_locale, content_type_uid: ct.value, action: action.value }] } });
      toast('Item added.'); app.refresh();
    }, msg),
    deploy);
  await loadEntries();
}

export async function show(main, app, { apiKey, section, rest }) {
  const msg = h('div');
  await SCREENS[section](main, app, apiKey, msg, rest || []);
}
