// Workflows: the publish requests assigned to me (GET /v3/user/assignments), accepted or
// rejected with a comment through the entry's workflow endpoint, as the API defines it.
import { api } from '../api.js';
import { h, render, field, button, errorBox, modal, table, toast, fmtDate } from '../ui.js';

export async function show(main, app, { apiKey }) {
  const msg = h('div', { id: 'wf-message' });
  let assignments;
  try { ({ assignments } = await api('GET', '/v3/user/assignments', { stack: apiKey })); } catch (e) { render(main, h('h1', {}, 'Workflows'), errorBox(e)); return; }
  const decide = async (a, status) => {
    const comment = await modal(status === 1 ? 'Accept this request?' : 'Reject this request?', (close) => {
      const c = h('textarea', { id: 'decision-comment', rows: 3 });
      const form = h('form', {}, h('p', {}, `${a.action} of ${a.content_type}/${a.entry_uid} (version ${a.version}) on ${a.environment_name}, ${a.locale}.`),
        field('Comment', c), h('div', { class: 'actions' }, button('Cancel', () => close(null)),
          h('button', { type: 'submit', class: status === 1 ? 'primary' : 'danger', id: 'decision-confirm' }, status === 1 ? 'Accept' : 'Reject')));
      form.addEventListener('submit', (ev) => { ev.preventDefault(); close(c.value); });
      setTimeout(() => c.focus());
      return form;
    });
    if (comment === null || comment === undefined) return;
    try {
      const r = await api('POST', `/v3/content_types/${a.content_type}/entries/${a.entry_uid}/workflow`, {
        stack: apiKey, query: { locale: a.locale },
        body: { workflow: { publishing_rule: { uid: a.publishing_rule, action: a.action, status, comment } } },
      });
      toast(r.notice || 'Done.');
      app.refresh();
    } catch (e) { render(msg, errorBox(e)); }
  };
  const rows = assignments.map((a) => h('tr', { dataset: { uid: a.uid } },
    h('th', { scope: 'row' }, h('a', { href: `#/s/${apiKey}/entries/${a.content_type}/${a.entry_uid}` }, `${a.content_type}/${a.entry_uid}`)),
    h('td', {}, a.action), h('td', {}, a.environment_name), h('td', {}, a.locale), h('td', {}, String(a.version)),
    h('td', {}, a.requested_by, h('div', { class: 'muted small' }, fmtDate(a.requested_at))),
    h('td', {}, a.comment || '—'),
    h('td', { class: 'actions-cell' },
      button('Accept', () => decide(a, 1), { class: 'primary', 'aria-label': `Accept request for ${a.entry_uid}` }),
      button('Reject', () => decide(a, -1), { class: 'danger', 'aria-label': `Reject request for ${a.entry_uid}` }))));
  render(main, h('h1', {}, 'Workflows'), h('h2', {}, 'Publish requests assigned to me'), msg,
    rows.length ? table(['Entry', 'Action', 'Environment', 'Locale', 'Version', 'Requested', 'Comment', 'Decision'], rows, { id: 'assignments' })
      : h('p', { class: 'muted' }, 'Nothing awaits your approval.'));
}
