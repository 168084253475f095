// The shell: hash routes, the header (organization, stack and branch switchers, sign out)
// and the stack's navigation. Screens live in screens/ and are loaded when first opened.

import { api, session, whenSignedOut } from './api.js';
import { h, render, select, button, errorBox, loading, toast } from './ui.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
const side = document.getElementById('side');

export const app = {
  org: null, // current organization uid
  stacks: [], // stacks of the current organization
  stack: null, // current stack object
  go(path) { if (location.hash !== `#${path}`) location.hash = path; else route(); },
  refresh() { route(); },
  async reloadStacks() { await loadStacks(true); },
  orgName() { return currentOrg()?.name; },
  orgInfo() { return currentOrg(); }, // the organization object from GET /v3/user (is_owner, settings)
  ssoError: null, // the code of a failed single sign-on (/?sso_error=…), shown once on the sign-in screen
};

const STACK_SECTIONS = [
  ['content-types', 'Content types', () => import('./screens/content_types.js')],
  ['global-fields', 'Global fields', () => import('./screens/content_types.js')],
  ['entries', 'Entries', () => import('./screens/entries.js')],
  ['assets', 'Assets', () => import('./screens/assets.js')],
  ['workflows', 'Workflows', () => import('./screens/workflows.js')],
  ['environments', 'Environments', () => import('./screens/environments.js')],
  ['locales', 'Locales', () => import('./screens/settings.js')],
  ['branches', 'Branches', () => import('./screens/settings.js')],
  ['webhooks', 'Webhooks', () => import('./screens/settings.js')],
  ['releases', 'Releases', () => import('./screens/settings.js')],
  ['labels', 'Labels', () => import('./screens/settings.js')],
  ['audit', 'Audit log', () => import('./screens/settings.js')],
  ['users', 'Users and roles', () => import('./screens/settings.js')],
  ['tokens', 'Tokens', () => import('./screens/tokens.js')],
];

whenSignedOut(() => { toast('Your session has ended. Please sign in again.', 'warn'); app.go('/signin'); });

async function loadUser() {
  if (session.user || !session.signedIn) return session.user;
  const { user } = await api('GET', '/v3/user');
  session.user = user;
  return user;
}

// A browser session cookie (set by the server after a single sign-on) is HttpOnly, so the app
// cannot see it: once per page load, without an authtoken, it asks GET /v3/user; an answer
// means the cookie session is on.
let probed = false;
async function probeCookieSession() {
  if (probed || session.token) return;
  probed = true;
  try {
    const { user } = await api('GET', '/v3/user', { probe: true });
    if (user) { session.cookie = true; session.user = user; }
  } catch { /* no browser session: the sign-in screen */ }
}

// `/?sso_error=<code>`: where the server sends the browser when a single sign-on fails. The
// code is kept for the sign-in screen and taken out of the address bar.
const ssoError = new URLSearchParams(location.search).get('sso_error');
if (ssoError) {
  app.ssoError = ssoError;
  history.replaceState(null, '', location.pathname + location.hash);
}

async function loadStacks(force) {
  if (!app.org) return;
  if (app.stacks.length && app.stacks.org === app.org && !force) return;
  const { stacks } = await api('GET', '/v3/stacks', { headers: { organization_uid: app.org } });
  app.stacks = stacks || [];
  app.stacks.org = app.org;
}

function pickOrg(user, wanted) {
  const orgs = user.organizations || [];
  const o = orgs.find((x) => x.uid === wanted) || orgs.find((x) => x.uid === app.org) || orgs[0];
  app.org = o ? o.uid : null;
  return o;
}

export function currentOrg() {
  return (session.user?.organizations || []).find((o) => o.uid === app.org) || null;
}

async function signOut() {
  try { await api('DELETE', '/v3/user-session'); } catch { /* the session may already be gone */ }
  session.token = null;
  session.cookie = false;
  session.user = null;
  app.stacks = [];
  app.stack = null;
  app.go('/signin');
}

function header(user, apiKey) {
  if (!user) { render(top, h('a', { class: 'brand', href: '#/' }, 'Headwater')); return; }
  const orgs = user.organizations || [];
  const orgSel = select(orgs.map((o) => [o.uid, o.name]), { id: 'org-switch', value: app.org });
  orgSel.addEventListener('change', () => { app.org = orgSel.value; app.stacks = []; app.go(`/org/${orgSel.value}`); });
  const stackSel = select([['', 'Choose a stack…'], ...app.stacks.map((s) => [s.api_key, s.name])], { id: 'stack-switch', value: apiKey || '' });
  stackSel.addEventListener('change', () => app.go(stackSel.value ? `/s/${stackSel.value}/content-types` : `/org/${app.org}`));
  const parts = [
    h('a', { class: 'brand', href: '#/' }, 'Headwater'),
    h('div', { class: 'switch' }, h('label', { for: 'org-switch' }, 'Organization'), orgSel),
    h('div', { class: 'switch' }, h('label', { for: 'stack-switch' }, 'Stack'), stackSel),
    h('a', { href: `#/org/${app.org}/settings`, id: 'org-settings' }, 'Organization settings'),
  ];
  if (apiKey) parts.push(branchSwitch(apiKey));
  parts.push(h('div', { class: 'spacer' }),
    h('span', { class: 'who', title: user.email }, user.email),
    session.cookie ? h('span', { class: 'badge', id: 'sso-badge', title: 'Signed in through your identity provider' }, 'SSO') : null,
    button('Sign out', signOut, { id: 'sign-out' }));
  render(top, h('div', { class: 'bar' }, parts));
}

function branchSwitch(apiKey) {
  const sel = select([[session.branch[apiKey] || 'main', session.branch[apiKey] || 'main']], { id: 'branch-switch' });
  Promise.all([api('GET', '/v3/stacks/branches', { stack: apiKey, noBranch: true }),
    api('GET', '/v3/stacks/branch_aliases', { stack: apiKey, noBranch: true }).catch(() => ({}))]).then(([{ branches }, { branch_aliases: aliases }]) => {
    const cur = session.branch[apiKey] || 'main';
    const opt = (v, text) => h('option', { value: v, selected: v === cur }, text);
    render(sel, (branches || []).map((b) => opt(b.uid, b.uid)),
      aliases?.length ? h('optgroup', { label: 'Aliases' }, aliases.map((a) => opt(a.alias, `${a.alias} → ${a.uid}`))) : null);
  }).catch(() => {});
  sel.addEventListener('change', () => { session.branch[apiKey] = sel.value; route(); });
  return h('div', { class: 'switch' }, h('label', { for: 'branch-switch' }, 'Branch'), sel);
}

function sideNav(apiKey, section) {
  if (!apiKey) { render(side); side.hidden = true; return; }
  side.hidden = false;
  render(side, h('ul', {}, STACK_SECTIONS.map(([key, label]) => h('li', {},
    h('a', { href: `#/s/${apiKey}/${key}`, 'aria-current': key === section ? 'page' : null }, label)))));
}

let seq = 0;
async function route() {
  const my = ++seq;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    await probeCookieSession();
    if (my !== seq) return;
    if (parts[0] === 'signin' || !session.signedIn) {
      header(null); sideNav(null);
      const m = await import('./screens/signin.js');
      if (my === seq) m.show(main, app);
      return;
    }
    const user = await loadUser();
    if (parts[0] === 'org') pickOrg(user, parts[1]);
    else if (!app.org) pickOrg(user);
    let apiKey = null;
    let section = null;
    if (parts[0] === 's') {
      apiKey = parts[1];
      section = parts[2] || 'content-types';
      await loadStacks();
      let st = app.stacks.find((s) => s.api_key === apiKey);
      if (!st) {
        const r = await api('GET', '/v3/stacks', { stack: apiKey });
        st = r.stack;
        if (st && st.org_uid && st.org_uid !== app.org) { app.org = st.org_uid; await loadStacks(true); }
      }
      app.stack = st;
    } else {
      app.stack = null;
      await loadStacks();
    }
    if (my !== seq) return;
    header(user, apiKey);
    sideNav(apiKey, section);
    if (!apiKey && parts[0] === 'org' && parts[2] === 'settings') {
      const view = h('div', { class: 'view' }, loading());
      render(main, view);
      const m = await import('./screens/org.js');
      if (my === seq) await m.show(view, app, app.org);
      return;
    } else if (!apiKey) {
      const m = await import('./screens/stacks.js');
      if (my === seq) m.show(main, app);
      return;
    }
    const entry = STACK_SECTIONS.find(([k]) => k === section);
    if (!entry) { render(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such screen.')); return; }
    // Each visit draws into its own container, so a screen still loading from an earlier
    // visit never draws over the current one.
    const view = h('div', { class: 'view' }, loading());
    render(main, view);
    const m = await entry[2]();
    if (my === seq) await m.show(view, app, { apiKey, section, rest: parts.slice(3) });
  } catch (e) {
    if (my !== seq) return;
    render(main, h('h1', {}, 'Something went wrong'), errorBox(e));
  }
  if (my === seq) document.title = `${main.querySelector('h1')?.textContent || 'Headwater'} · Headwater`;
}

window.addEventListener('hashchange', () => { route().then(() => main.focus({ preventScroll: true })); });
route();
