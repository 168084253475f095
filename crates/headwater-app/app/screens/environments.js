// Environments: list, create, delete (/v3/environments).
import { api } from '../api.js';
import { h, render, field, button, errorBox, confirmDialog, table, toast, fmtDate } from '../ui.js';

export async function show(main, app, { apiKey }) {
  const msg = h('div');
  let environments = [];
  try { ({ environments } = await api('GET', '/v3/environments', { stack: apiKey })); } catch (e) { render(main, h('h1', {}, 'Environments'), errorBox(e)); return; }
  const name = h('input', { id: 'env-name', required: true });
  const url = h('input', { id: 'env-url', type: 'url', placeholder: 'https://www.example.com' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-env' }, h('h2', { id: 'new-env' }, 'Add an environment'),
    h('div', { class: 'row' }, field('Name', name), field('Base URL (master locale)', url)),
    h('button', { type: 'submit', class: 'primary' }, 'Add environment'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    const env = { name: name.value.trim() };
    if (url.value) env.urls = [{ locale: app.stack?.master_locale || 'en-us', url: url.value }];
    try { await api('POST', '/v3/environments', { stack: apiKey, body: { environment: env } }); toast('Environment added.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
  });
  const rows = environments.map((e) => h('tr', {},
    h('th', { scope: 'row' }, e.name),
    h('td', {}, (e.urls || []).map((u) => `${u.locale}: ${u.url}`).join(', ') || '—'),
    h('td', {}, fmtDate(e.created_at)),
    h('td', {}, button('Delete', async () => {
      if (!(await confirmDialog('Delete this environment?', `“${e.name}” and its publish records are deleted.`))) return;
      try { await api('DELETE', `/v3/environments/${encodeURIComponent(e.name)}`, { stack: apiKey }); app.refresh(); } catch (err) { render(msg, errorBox(err)); }
    }, { class: 'danger', 'aria-label': `Delete ${e.name}` }))));
  render(main, h('h1', {}, 'Environments'), msg,
    environments.length ? table(['Name', 'URLs', 'Created', 'Actions'], rows) : h('p', { class: 'muted' }, 'No environments yet.'), form);
}
