// Stack settings → Tokens: management tokens and delivery tokens (/v3/stacks/…_tokens).
// What the API refuses (the 31st token, a rate limit above the organization's, a role that
// may not manage tokens) is shown with the API's own message.
import { api } from '../api.js';
import { h, render, field, checkbox, button, errorBox, modal, confirmDialog, fmtDate, fmtDay, toast, table, loading } from '../ui.js';
import { currentOrg } from '../main.js';

export const MODULES = [
  ['content_type', 'Content types'], ['entry', 'Entries'], ['asset', 'Assets'], ['global_field', 'Global fields'],
  ['environment', 'Environments'], ['locale', 'Locales'], ['role', 'Roles'], ['workflow', 'Workflows'],
  ['webhook', 'Webhooks'], ['label', 'Labels'], ['release', 'Releases'], ['extension', 'Extensions'],
  ['taxonomy', 'Taxonomies'], ['audit_log', 'Audit log'],
];
const LABEL = Object.fromEntries([...MODULES, ['$all', 'All modules']]);

export async function show(main, app, { apiKey, rest }) {
  const delivery = rest[0] === 'delivery';
  const tabs = h('div', { class: 'tabs', role: 'navigation', 'aria-label': 'Token kinds' },
    h('a', { href: `#/s/${apiKey}/tokens`, 'aria-current': delivery ? null : 'page' }, 'Management tokens'),
    h('a', { href: `#/s/${apiKey}/tokens/delivery`, 'aria-current': delivery ? 'page' : null }, 'Delivery tokens'));
  const body = h('div', {}, loading());
  render(main, h('h1', {}, 'Tokens'), h('p', { class: 'muted' }, `Stack settings of ${app.stack?.name || apiKey}`), tabs, body);
  const ctx = { app, apiKey, body, org: currentOrg() };
  if (delivery) await deliveryList(ctx); else await managementList(ctx);
}

// ---- management tokens ----------------------------------------------------------------------

function isExpired(t) { return t.expires_on && new Date(t.expires_on) <= new Date(); }

function scopeSummary(scope) {
  const items = (scope || []).filter((s) => s.module !== 'branch' && s.module !== 'branch_alias');
  const text = items.map((s) => `${LABEL[s.module] || s.module} ${s.acl?.write ? 'read/write' : 'read'}`).join(', ');
  return text || '—';
}

function branchSummary(scope) {
  const b = (scope || []).find((s) => s.module === 'branch');
  const a = (scope || []).find((s) => s.module === 'branch_alias');
  const parts = [];
  if (b) parts.push((b.branches || []).join(', '));
  if (a) parts.push(`aliases: ${(a.branch_aliases || []).join(', ')}`);
  return parts.join('; ') || 'main';
}

async function managementList(ctx) {
  const { apiKey, body } = ctx;
  let tokens;
  try {
    ({ tokens } = await api('GET', '/v3/stacks/management_tokens', { stack: apiKey }));
  } catch (e) { render(body, errorBox(e)); return; }
  const msg = h('div');
  const add = button('New management token', () => managementForm(ctx, null), { class: 'primary', id: 'new-token' });
  const rows = tokens.map((t) => {
    const badges = [];
    if (t.revoked_at) badges.push(h('span', { class: 'badge bad' }, 'revoked'));
    else if (isExpired(t)) badges.push(h('span', { class: 'badge bad' }, 'expired'));
    return h('tr', { dataset: { uid: t.uid } },
      h('th', { scope: 'row' }, t.name, ' ', badges, t.description ? h('div', { class: 'muted small' }, t.description) : null),
      h('td', {}, scopeSummary(t.scope), t.rate_limit_enabled ? h('div', { class: 'muted small' }, `Rate limit: ${[t.rate_limit?.read ? `${t.rate_limit.read} reads/s` : null, t.rate_limit?.write ? `${t.rate_limit.write} writes/s` : null].filter(Boolean).join(', ') || 'organization default'}`) : null),
      h('td', {}, branchSummary(t.scope)),
      h('td', {}, t.expires_on ? fmtDay(t.expires_on) : 'Never'),
      h('td', {}, t.last_used_at ? fmtDate(t.last_used_at) : 'Never used'),
      h('td', { class: 'actions-cell' },
        button('Edit', () => managementForm(ctx, t), { 'aria-label': `Edit ${t.name}` }),
        button('Expire now', async () => {
          if (!(await confirmDialog('Expire this token?', `“${t.name}” stops working now. You can give it a new expiry date later.`, 'Expire now'))) return;
          try {
            await api('PUT', `/v3/stacks/management_tokens/${t.uid}`, { stack: apiKey, body: { token: { expires_on: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } } });
            toast('Token expired.');
            await managementList(ctx);
          } catch (e) { render(msg, errorBox(e)); }
        }, { 'aria-label': `Expire ${t.name} now`, disabled: !!isExpired(t) }),
        button('Delete', async () => {
          if (!(await confirmDialog('Delete this token?', `“${t.name}” is deleted and every script using it is refused. This cannot be undone.`))) return;
          try {
            const r = await api('DELETE', `/v3/stacks/management_tokens/${t.uid}`, { stack: apiKey });
            toast(r.notice || 'Token deleted.');
            await managementList(ctx);
          } catch (e) { render(msg, errorBox(e)); }
        }, { class: 'danger', 'aria-label': `Delete ${t.name}` })));
  });
  render(body,
    h('div', { class: 'toolbar' }, add, h('span', { class: 'muted' }, `${tokens.length} token${tokens.length === 1 ? '' : 's'}`)),
    msg,
    tokens.length
      ? table(['Name', 'Scope', 'Branches', 'Expires', 'Last used', 'Actions'], rows, { id: 'token-list' })
      : h('p', { class: 'muted' }, 'No management tokens yet.'));
}

async function branchesAndAliases(apiKey) {
  const [b, a] = await Promise.all([
    api('GET', '/v3/stacks/branches', { stack: apiKey, noBranch: true }).catch(() => ({ branches: [{ uid: 'main' }] })),
    api('GET', '/v3/stacks/branch_aliases', { stack: apiKey, noBranch: true }).catch(() => ({ branch_aliases: [] })),
  ]);
  return { branches: (b.branches || []).map((x) => x.uid), aliases: (a.branch_aliases || []).map((x) => x.alias || x.uid) };
}

function dateOnly(s) { return s ? String(s).slice(0, 10) : ''; }

async function managementForm(ctx, token) {
  const { apiKey, org } = ctx;
  const { branches, aliases } = await branchesAndAliases(apiKey);
  const limits = org?.rate_limit || {};
  const policy = org?.settings?.management_tokens || {};
  const scope = token?.scope || [];
  const grant = Object.fromEntries(scope.map((s) => [s.module, s.acl || {}]));
  const all = grant.$all;

  const saved = await modal(token ? `Edit “${token.name}”` : 'New management token', (close) => {
    const name = h('input', { id: 'mt-name', required: true, maxlength: 255, value: token?.name || '' });
    const description = h('textarea', { id: 'mt-description', rows: 2 }, token?.description || '');
    const matrixRows = MODULES.map(([m, label]) => {
      const g = grant[m] || all || {};
      const r = h('input', { type: 'checkbox', name: `read-${m}`, checked: !!g.read, 'aria-label': `${label}: read` });
      const w = h('input', { type: 'checkbox', name: `write-${m}`, checked: !!g.write, 'aria-label': `${label}: write` });
      w.addEventListener('change', () => { if (w.checked) r.checked = true; });
      r.addEventListener('change', () => { if (!r.checked) w.checked = false; });
      return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, r), h('td', {}, w));
    });
    const allRead = button('All read', () => matrix.querySelectorAll('input[name^="read-"]').forEach((c) => { c.checked = true; }));
    const allWrite = button('All read/write', () => matrix.querySelectorAll('input[type=checkbox]').forEach((c) => { c.checked = true; }));
    const none = button('None', () => matrix.querySelectorAll('input[type=checkbox]').forEach((c) => { c.checked = false; }));
    const matrix = h('table', { class: 'matrix', id: 'mt-matrix' },
      h('caption', {}, 'Permissions per module'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Module'), h('th', { scope: 'col' }, 'Read'), h('th', { scope: 'col' }, 'Write'))),
      h('tbody', {}, matrixRows));

    const bScope = scope.find((s) => s.module === 'branch');
    const aScope = scope.find((s) => s.module === 'branch_alias');
    const useAliases = !!aScope && !bScope;
    const kindB = h('input', { type: 'radio', name: 'mt-branch-kind', id: 'mt-kind-branches', value: 'branches', checked: !useAliases });
    const kindA = h('input', { type: 'radio', name: 'mt-branch-kind', id: 'mt-kind-aliases', value: 'aliases', checked: useAliases, disabled: !aliases.length });
    const chosenB = new Set(bScope ? bScope.branches : ['main']);
    const chosenA = new Set(aScope ? aScope.branch_aliases : []);
    const bBoxes = branches.map((b) => checkbox(b, { name: 'mt-branch', value: b, checked: chosenB.has(b) }));
    const aBoxes = aliases.map((a) => checkbox(a, { name: 'mt-alias', value: a, checked: chosenA.has(a) }));
    const bList = h('div', { class: 'checks', id: 'mt-branches' }, bBoxes);
    const aList = h('div', { class: 'checks', id: 'mt-aliases' }, aBoxes.length ? aBoxes : h('span', { class: 'muted' }, 'This stack has no aliases.'));
    const syncKind = () => { bList.hidden = !kindB.checked; aList.hidden = !kindA.checked; };
    kindB.addEventListener('change', syncKind); kindA.addEventListener('change', syncKind); syncKind();

    const never = h('input', { type: 'radio', name: 'mt-expiry', id: 'mt-never', value: 'never', checked: token ? !token.expires_on : false, disabled: policy.allow_never_expiring === false });
    const onDate = h('input', { type: 'radio', name: 'mt-expiry', id: 'mt-on-date', value: 'date', checked: token ? !!token.expires_on : true });
    const tomorrow = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
    const date = h('input', { type: 'date', id: 'mt-date', value: dateOnly(token?.expires_on) || tomorrow, min: new Date(Date.now() + 86400e3).toISOString().slice(0, 10) });
    const syncExpiry = () => { date.disabled = !onDate.checked; };
    never.addEventListener('change', syncExpiry); onDate.addEventListener('change', syncExpiry); syncExpiry();
    const lifetimeHint = [
      policy.max_lifetime_days ? `The organization allows at most ${policy.max_lifetime_days} days.` : null,
      policy.allow_never_expiring === false ? 'The organization does not allow tokens that never expire.' : null,
    ].filter(Boolean).join(' ');

    const notify = checkbox('Email me 7 days before it expires', { id: 'mt-notify', checked: !!token?.is_email_notification_enabled });
    const rl = checkbox('Limit this token’s request rate', { id: 'mt-rate-on', checked: !!token?.rate_limit_enabled });
    const read = h('input', { type: 'number', id: 'mt-read', min: 1, max: limits.read ?? undefined, value: token?.rate_limit?.read ?? '' });
    const write = h('input', { type: 'number', id: 'mt-write', min: 1, max: limits.write ?? undefined, value: token?.rate_limit?.write ?? '' });
    const rlFields = h('div', { class: 'row' },
      field('Reads per second', read, limits.read != null ? `At most ${limits.read} (the organization’s limit).` : null),
      field('Writes per second', write, limits.write != null ? `At most ${limits.write} (the organization’s limit).` : null));
    const rlBox = rl.querySelector('input');
    const syncRl = () => { read.disabled = write.disabled = !rlBox.checked; };
    rlBox.addEventListener('change', syncRl); syncRl();

    const msg = h('div', { id: 'mt-message' });
    const submit = h('button', { type: 'submit', class: 'primary', id: 'mt-save' }, token ? 'Save changes' : 'Create token');
    // No browser validation of the numbers: the API decides and its message is shown.
    const form = h('form', { class: 'token-form', novalidate: true },
      field('Name', name), field('Description', description),
      h('fieldset', {}, h('legend', {}, 'Scope'), h('div', { class: 'toolbar' }, allRead, allWrite, none), matrix),
      h('fieldset', {}, h('legend', {}, 'Branch or alias scope'),
        h('div', { class: 'checks' }, h('label', { class: 'check' }, kindB, ' Branches'), h('label', { class: 'check' }, kindA, ' Aliases')),
        bList, aList),
      h('fieldset', {}, h('legend', {}, 'Expiry'),
        h('div', { class: 'checks' }, h('label', { class: 'check' }, never, ' Never expires'), h('label', { class: 'check' }, onDate, ' Expires on')),
        field('Expiry date', date, lifetimeHint || null), notify),
      h('fieldset', {}, h('legend', {}, 'Rate limit'), rl, rlFields),
      msg,
      h('div', { class: 'actions' }, button('Cancel', () => close(null)), submit));

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      render(msg);
      const items = [];
      for (const [m] of MODULES) {
        const r = form.querySelector(`input[name="read-${m}"]`).checked;
        const w = form.querySelector(`input[name="write-${m}"]`).checked;
        if (r || w) items.push({ module: m, acl: { read: true, write: w } });
      }
      if (kindA.checked) {
        items.push({ module: 'branch_alias', branch_aliases: [...form.querySelectorAll('input[name="mt-alias"]:checked')].map((c) => c.value), acl: { read: true } });
      } else {
        items.push({ module: 'branch', branches: [...form.querySelectorAll('input[name="mt-branch"]:checked')].map((c) => c.value), acl: { read: true } });
      }
      const t = {
        name: name.value.trim(),
        description: description.value,
        scope: items,
        expires_on: onDate.checked ? date.value : null,
        is_email_notification_enabled: notify.querySelector('input').checked,
        rate_limit_enabled: rlBox.checked,
      };
      if (rlBox.checked) t.rate_limit = { read: read.value === '' ? null : Number(read.value), write: write.value === '' ? null : Number(write.value) };
      submit.disabled = true;
      try {
        const r = token
          ? await api('PUT', `/v3/stacks/management_tokens/${token.uid}`, { stack: apiKey, body: { token: t } })
          : await api('POST', '/v3/stacks/management_tokens', { stack: apiKey, body: { token: t } });
        close(r);
      } catch (e) { render(msg, errorBox(e)); msg.scrollIntoView({ block: 'nearest' }); } finally { submit.disabled = false; }
    });
    setTimeout(() => name.focus());
    return form;
  }, { wide: true });
  if (!saved) return;
  toast(saved.notice || 'Saved.');
  if (saved.token?.token) await showSecret(saved.token.name, saved.token.token);
  await managementList(ctx);
}

/** The secret, once, with a copy button. */
export function showSecret(name, secret) {
  return modal('Copy your token now', (close) => {
    const out = h('input', { id: 'token-secret', readonly: true, value: secret, class: 'secret', 'aria-describedby': 'secret-warning', spellcheck: 'false' });
    const copied = h('span', { class: 'muted', role: 'status' });
    return h('div', {},
      h('p', { id: 'secret-warning', class: 'warn' }, `This is the token “${name}”. Copy it now: you won't see it again. Headwater stores only a hash of it.`),
      field('Token', out),
      h('div', { class: 'actions' },
        button('Copy', async () => {
          try { await navigator.clipboard.writeText(secret); copied.textContent = 'Copied.'; } catch { out.select(); copied.textContent = 'Press Ctrl+C to copy.'; }
        }, { id: 'copy-secret', class: 'primary' }),
        copied,
        button('Done', () => close(true), { id: 'secret-done' })));
  });
}

// ---- delivery tokens ------------------------------------------------------------------------

async function deliveryList(ctx) {
  const { apiKey, body } = ctx;
  let tokens;
  try {
    ({ tokens } = await api('GET', '/v3/stacks/delivery_tokens', { stack: apiKey }));
  } catch (e) { render(body, errorBox(e)); return; }
  const msg = h('div');
  const envOf = (t) => (t.scope || []).filter((s) => s.module === 'environment').flatMap((s) => (s.environments || []).map((e) => e.name || e));
  const brOf = (t) => (t.scope || []).filter((s) => s.module === 'branch').flatMap((s) => s.branches || []);
  const rows = tokens.map((t) => h('tr', { dataset: { uid: t.uid } },
    h('th', { scope: 'row' }, t.name, t.description ? h('div', { class: 'muted small' }, t.description) : null),
    h('td', {}, envOf(t).join(', ') || '—'),
    h('td', {}, brOf(t).join(', ') || 'main'),
    h('td', {}, fmtDate(t.created_at)),
    h('td', { class: 'actions-cell' },
      button('Edit', () => deliveryForm(ctx, t), { 'aria-label': `Edit ${t.name}` }),
      button('Delete', async () => {
        if (!(await confirmDialog('Delete this delivery token?', `“${t.name}” is deleted and every site using it is refused. This cannot be undone.`))) return;
        try {
          const r = await api('DELETE', `/v3/stacks/delivery_tokens/${t.uid}`, { stack: apiKey });
          toast(r.notice || 'Token deleted.');
          await deliveryList(ctx);
        } catch (e) { render(msg, errorBox(e)); }
      }, { class: 'danger', 'aria-label': `Delete ${t.name}` }))));
  render(body,
    h('div', { class: 'toolbar' }, button('New delivery token', () => deliveryForm(ctx, null), { class: 'primary', id: 'new-delivery-token' }),
      h('span', { class: 'muted' }, `${tokens.length} token${tokens.length === 1 ? '' : 's'}`)),
    msg,
    tokens.length ? table(['Name', 'Environments', 'Branches', 'Created', 'Actions'], rows, { id: 'delivery-token-list' }) : h('p', { class: 'muted' }, 'No delivery tokens yet.'));
}

async function deliveryForm(ctx, token) {
  const { apiKey } = ctx;
  const [{ environments }, { branches }] = await Promise.all([
    api('GET', '/v3/environments', { stack: apiKey }).catch(() => ({ environments: [] })),
    branchesAndAliases(apiKey),
  ]);
  const envSel = new Set((token?.scope || []).filter((s) => s.module === 'environment').flatMap((s) => (s.environments || []).map((e) => e.name || e)));
  const brSel = new Set((token?.scope || []).filter((s) => s.module === 'branch').flatMap((s) => s.branches || []));
  if (!brSel.size) brSel.add('main');
  const saved = await modal(token ? `Edit “${token.name}”` : 'New delivery token', (close) => {
    const name = h('input', { id: 'dt-name', required: true, value: token?.name || '' });
    const description = h('textarea', { id: 'dt-description', rows: 2 }, token?.description || '');
    const envs = (environments || []).map((e) => checkbox(e.name, { name: 'dt-env', value: e.name, checked: envSel.has(e.name) }));
    const brs = branches.map((b) => checkbox(b, { name: 'dt-branch', value: b, checked: brSel.has(b) }));
    const msg = h('div');
    const form = h('form', {},
      field('Name', name), field('Description', description),
      h('fieldset', {}, h('legend', {}, 'Environments'), envs.length ? h('div', { class: 'checks' }, envs)
        : h('p', { class: 'muted' }, 'This stack has no environments yet: add one under Environments first.')),
      h('fieldset', {}, h('legend', {}, 'Branches'), h('div', { class: 'checks' }, brs)),
      msg,
      h('div', { class: 'actions' }, button('Cancel', () => close(null)), h('button', { type: 'submit', class: 'primary' }, token ? 'Save changes' : 'Create token')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      render(msg);
      const names = [...form.querySelectorAll('input[name="dt-env"]:checked')].map((c) => c.value);
      const bs = [...form.querySelectorAll('input[name="dt-branch"]:checked')].map((c) => c.value);
      const t = { name: name.value.trim(), description: description.value,
        scope: [{ module: 'environment', environments: names, acl: { read: true } }, { module: 'branch', branches: bs, acl: { read: true } }] };
      try {
        const r = token
          ? await api('PUT', `/v3/stacks/delivery_tokens/${token.uid}`, { stack: apiKey, body: { token: t } })
          : await api('POST', '/v3/stacks/delivery_tokens', { stack: apiKey, body: { token: t } });
        close(r);
      } catch (e) { render(msg, errorBox(e)); }
    });
    setTimeout(() => name.focus());
    return form;
  }, { wide: true });
  if (!saved) return;
  toast(saved.notice || 'Saved.');
  if (saved.token?.token) await showSecret(saved.token.name, saved.token.token);
  await deliveryList(ctx);
}
