// Organization settings: members and invitations, teams, roles and stacks
// (/v3/organizations/{uid}/share, /teams, /roles, /stacks). A refusal, or a route the server
// does not have, is shown as the API's message.
import { api } from '../api.js';
import { h, render, field, select, button, errorBox, confirmDialog, table, toast, fmtDate } from '../ui.js';

const enc = encodeURIComponent;

// One section: loads its list and draws it, or shows the API's refusal in its place.
async function section(title, id, path, draw) {
  const box = h('section', { 'aria-labelledby': id, id: `${id}-section` }, h('h2', { id }, title));
  try { box.append(...[draw(await api('GET', path))].flat()); } catch (e) { box.append(errorBox(e)); }
  return box;
}

export async function show(main, app, orgUid) {
  const base = `/v3/organizations/${enc(orgUid)}`;
  const msg = h('div');
  let roles = [];
  try { ({ roles = [] } = await api('GET', `${base}/roles`)); } catch { /* shown by the roles section */ }
  const roleOpts = roles.filter((r) => !r.owner).map((r) => [r.uid, r.name]);
  const roleName = (uid) => roles.find((r) => r.uid === uid)?.name || uid;
  const run = (f) => async (ev) => { ev.preventDefault(); render(msg); try { await f(); app.refresh(); } catch (e) { render(msg, errorBox(e)); } };

  const email = h('input', { id: 'invite-email', type: 'email', required: true });
  const irole = select(roleOpts, { id: 'invite-role' });
  const invite = h('form', { class: 'card', 'aria-labelledby': 'invite-h' }, h('h3', { id: 'invite-h' }, 'Invite someone'),
    h('div', { class: 'row' }, field('Email', email), field('Organization role', irole)), h('button', { type: 'submit', class: 'primary' }, 'Send invitation'));
  invite.addEventListener('submit', run(async () => {
    await api('POST', `${base}/share`, { body: { share: { users: { [email.value.trim()]: [irole.value] } } } });
    toast('Invitation sent.');
  }));

  const tname = h('input', { id: 'team-name', required: true });
  const tdesc = h('input', { id: 'team-desc' });
  const trole = select(roleOpts, { id: 'team-role' });
  const tusers = h('input', { id: 'team-users', placeholder: 'emails, comma-separated' });
  const team = h('form', { class: 'card', 'aria-labelledby': 'team-h' }, h('h3', { id: 'team-h' }, 'Create a team'),
    h('div', { class: 'row' }, field('Name', tname), field('Description', tdesc), field('Organization role', trole), field('Members', tusers)),
    h('button', { type: 'submit', class: 'primary' }, 'Create team'));
  team.addEventListener('submit', run(async () => {
    const users = tusers.value.split(',').map((s) => s.trim()).filter(Boolean);
    await api('POST', `${base}/teams`, { body: { name: tname.value.trim(), description: tdesc.value, organizationRole: trole.value, users } });
    toast('Team created.');
  }));

  const parts = await Promise.all([
    section('Invitations', 'org-invites', `${base}/share`, ({ shares = [] }) => [
      shares.length ? table(['Email', 'Role', 'Status', 'Invited', 'Actions'], shares.map((s) => h('tr', {}, h('th', { scope: 'row' }, s.email),
        h('td', {}, (s.org_roles || []).map(roleName).join(', ')), h('td', {}, s.status || ''), h('td', {}, fmtDate(s.created_at)),
        h('td', {}, button('Revoke', async () => {
          if (!(await confirmDialog('Revoke this invitation?', `${s.email} can no longer accept it.`, 'Revoke'))) return;
          try { await api('DELETE', `${base}/share/${enc(s.uid)}`); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
        }, { class: 'danger', 'aria-label': `Revoke the invitation of ${s.email}` })))), { id: 'invites-table' }) : h('p', { class: 'muted' }, 'No invitations.'),
      invite]),
    section('Teams', 'org-teams', `${base}/teams`, ({ teams = [] }) => [
      teams.length ? table(['Team', 'Role', 'Members', 'Actions'], teams.map((t) => h('tr', {}, h('th', { scope: 'row' }, t.name),
        h('td', {}, roleName(t.organizationRole)), h('td', {}, (t.users || []).map((u) => (typeof u === 'string' ? u : u.email || u.uid)).join(', ') || '—'),
        h('td', {}, button('Delete', async () => {
          if (!(await confirmDialog('Delete this team?', `“${t.name}” is deleted; its members keep their own access.`))) return;
          try { await api('DELETE', `${base}/teams/${enc(t.uid)}`); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
        }, { class: 'danger', 'aria-label': `Delete team ${t.name}` })))), { id: 'teams-table' }) : h('p', { class: 'muted' }, 'No teams.'),
      team]),
    section('Roles', 'org-roles', `${base}/roles`, (r) => table(['Role', 'Description'], (r.roles || []).map((x) => h('tr', {}, h('th', { scope: 'row' }, x.name), h('td', {}, x.description || ''))), { id: 'org-roles-table' })),
    section('Stacks', 'org-stacks', `${base}/stacks`, ({ stacks = [] }) => table(['Stack', 'API key'], stacks.map((s) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/s/${s.api_key}/content-types` }, s.name)), h('td', {}, h('code', {}, s.api_key)))), { id: 'org-stacks-table' })),
  ]);
  const org = (app.orgName && app.orgName()) || orgUid;
  render(main, h('h1', {}, `Organization settings: ${org}`), msg, parts);
}
