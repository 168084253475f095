// Organization settings: single sign-on (owner), members and invitations, teams, roles and
// stacks (/v3/organizations/{uid}/sso, /share, /teams, /roles, /stacks). A refusal, or a route
// the server does not have, is shown as the API's message.
import { api } from '../api.js';
import { h, render, field, select, button, errorBox, confirmDialog, table, toast, fmtDate, checkbox } from '../ui.js';

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
    ssoSection(app, base),
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

// Single sign-on (OpenID Connect): the owner sees, sets, turns off or removes the organization's
// provider; everyone sees whether strict mode is on (it is switched by the operator's CLI).
async function ssoSection(app, base) {
  const org = app.orgInfo ? app.orgInfo() : null;
  const strict = Boolean(org?.settings?.sso?.strict);
  const box = h('section', { 'aria-labelledby': 'org-sso', id: 'org-sso-section' }, h('h2', { id: 'org-sso' }, 'Single sign-on'));
  box.append(h('p', { id: 'sso-strict' },
    h('span', { class: strict ? 'badge ok' : 'badge' }, strict ? 'Strict mode on' : 'Strict mode off'), ' ',
    strict
      ? 'Members other than the owner sign in only through the identity provider; password sign-in is refused for them, and scripts use management tokens.'
      : 'Members may sign in with a password or, when it is set up, through the identity provider.',
    ' ', h('span', { class: 'muted small' }, 'The operator switches it with ', h('code', {}, 'headwater org set-sso-strict'), '.')));
  if (org && !org.is_owner) {
    box.append(h('p', { class: 'muted' }, "Only the organization's owner sees and changes the single sign-on settings."));
    return box;
  }
  const msg = h('div', { id: 'sso-config-message' });
  let cfg = null;
  try {
    ({ sso: cfg } = await api('GET', `${base}/sso`));
  } catch (e) {
    if (e.status !== 404) { box.append(errorBox(e)); return box; }
  }
  // The server says which redirect URI it uses once it has settings (its --public-url); before
  // that, this page's own origin is what it derives on a loopback address.
  const redirect = cfg?.redirect_uri || `${location.origin}/sso/callback`;
  if (cfg) {
    box.append(h('dl', { class: 'facts', id: 'sso-config' },
      h('dt', {}, 'Status'), h('dd', {}, h('span', { class: cfg.enabled ? 'badge ok' : 'badge bad', id: 'sso-enabled' }, cfg.enabled ? 'Enabled' : 'Turned off')),
      h('dt', {}, 'Issuer'), h('dd', {}, h('code', {}, cfg.issuer)),
      h('dt', {}, 'Client ID'), h('dd', {}, h('code', {}, cfg.client_id)),
      h('dt', {}, 'Client secret'), h('dd', {}, cfg.client_secret_set ? 'Stored (never shown)' : 'Not set'),
      h('dt', {}, 'Scopes'), h('dd', {}, (cfg.scopes || []).join(' ')),
      h('dt', {}, 'Email claim'), h('dd', {}, cfg.email_claim || 'email'),
      h('dt', {}, 'Allowed email domains'), h('dd', {}, (cfg.allowed_domains || []).join(', ') || 'Any'),
      h('dt', {}, 'Role of new members'), h('dd', {}, cfg.default_role || 'member'),
      h('dt', {}, 'Updated'), h('dd', {}, fmtDate(cfg.updated_at))));
  } else {
    box.append(h('p', { class: 'muted', id: 'sso-none' }, 'Single sign-on is not set up for this organization.'));
  }
  const issuer = h('input', { id: 'sso-issuer', type: 'url', required: true, value: cfg?.issuer || '', placeholder: 'https://login.example.com' });
  const clientId = h('input', { id: 'sso-client-id', required: true, value: cfg?.client_id || '' });
  const secret = h('input', { id: 'sso-client-secret', type: 'password', autocomplete: 'new-password', required: !cfg?.client_secret_set });
  const scopes = h('input', { id: 'sso-scopes', value: (cfg?.scopes || ['openid', 'email', 'profile']).join(' ') });
  const claim = h('input', { id: 'sso-email-claim', value: cfg?.email_claim || 'email' });
  const domains = h('input', { id: 'sso-domains', value: (cfg?.allowed_domains || []).join(', '), placeholder: 'example.com, example.org' });
  const role = select([['member', 'Member'], ['admin', 'Admin']], { id: 'sso-default-role', value: cfg?.default_role || 'member' });
  const enabledBox = checkbox('Enabled: people may sign in through this provider', { id: 'sso-enabled-input', checked: cfg ? cfg.enabled !== false : true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'sso-form-h', id: 'sso-config-form' },
    h('h3', { id: 'sso-form-h' }, cfg ? 'Change the identity provider' : 'Set up an identity provider (OpenID Connect)'),
    h('p', { class: 'small' }, 'Register this redirect URI with the provider: ', h('code', { id: 'sso-redirect-uri' }, redirect)),
    h('div', { class: 'row' }, field('Issuer URL', issuer, 'Its discovery document is read when you save.'), field('Client ID', clientId)),
    h('div', { class: 'row' },
      field('Client secret', secret, cfg?.client_secret_set ? 'Leave empty to keep the stored secret.' : 'Stored sealed; never shown again.'),
      field('Scopes', scopes, 'Separated by spaces.')),
    h('div', { class: 'row' },
      field('Allowed email domains', domains, 'Separated by commas. People with other addresses are refused.'),
      field('Email claim', claim), field('Role of new members', role, 'People signing in for the first time join with this role.')),
    enabledBox, msg,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary', id: 'sso-save' }, 'Save'),
      cfg ? button('Remove single sign-on', async () => {
        if (!(await confirmDialog('Remove single sign-on?', 'The provider settings are deleted; nobody can sign in through it until it is set up again.', 'Remove'))) return;
        try { await api('DELETE', `${base}/sso`); toast('Single sign-on removed.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
      }, { class: 'danger', id: 'sso-remove' }) : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    render(msg);
    const split = (v, re) => v.split(re).map((x) => x.trim()).filter(Boolean);
    const body = {
      issuer: issuer.value.trim(),
      client_id: clientId.value.trim(),
      scopes: split(scopes.value, /\s+/),
      email_claim: claim.value.trim() || 'email',
      allowed_domains: split(domains.value, /[\s,]+/),
      default_role: role.value,
      enabled: enabledBox.querySelector('input').checked,
    };
    if (secret.value) body.client_secret = secret.value;
    try {
      const r = await api('PUT', `${base}/sso`, { body: { sso: body } });
      secret.value = '';
      toast(r.notice || 'Single sign-on saved.');
      app.refresh();
    } catch (e) { render(msg, errorBox(e)); }
  });
  box.append(form);
  return box;
}
