// The organization's stacks, and creating one.
import { api } from '../api.js';
import { h, render, field, errorBox, table, fmtDate, toast } from '../ui.js';
import { currentOrg } from '../main.js';

export function show(main, app) {
  const org = currentOrg();
  const name = h('input', { id: 'stack-name', required: true, maxlength: 255 });
  const description = h('input', { id: 'stack-description' });
  const locale = h('input', { id: 'stack-locale', value: 'en-us', required: true });
  const msg = h('div');
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-stack' },
    h('h2', { id: 'new-stack' }, 'Create a stack'),
    h('div', { class: 'row' }, field('Name', name), field('Description', description), field('Master locale', locale, 'A locale code such as en-us.')),
    msg, h('button', { type: 'submit', class: 'primary' }, 'Create stack'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    try {
      const r = await api('POST', '/v3/stacks', {
        headers: { organization_uid: app.org },
        body: { stack: { name: name.value.trim(), description: description.value, master_locale: locale.value.trim() } },
      });
      toast(r.notice || 'Stack created.');
      await app.reloadStacks();
      app.go(`/s/${r.stack.api_key}/content-types`);
    } catch (e) { render(msg, errorBox(e)); }
  });
  const rows = app.stacks.map((s) => h('tr', {},
    h('td', {}, h('a', { href: `#/s/${s.api_key}/content-types` }, s.name)),
    h('td', {}, h('code', {}, s.api_key)),
    h('td', {}, s.master_locale || '—'),
    h('td', {}, fmtDate(s.created_at))));
  render(main,
    h('h1', {}, org ? `Stacks of ${org.name}` : 'Stacks'),
    app.stacks.length ? table(['Name', 'API key', 'Master locale', 'Created'], rows) : h('p', { class: 'muted' }, 'No stacks yet.'),
    form);
}
