// Single sign-on (OpenID Connect) in Chromium against the server at HEADWATER_URL, with a real
// OpenID provider (tests/sso/idp, node-oidc-provider) started here on 127.0.0.1. See run.sh.
//
// The organization (SSO_ORG_UID, owner SSO_OWNER_*, password member SSO_BOB_*) is made by run.sh
// with the CLI and is in strict mode. Here: the owner sets the provider up in the app's
// organization settings; a new person signs in through the provider and lands as a member with
// the configured role; password sign-in is refused; no authtoken can be had from the browser
// session; as a stack admin they create a management token in the app and a script uses it;
// an address on a domain that is not allowed comes back to the app with a readable message.
// Each step prints PASS/FAIL; a failed step stops the steps after it (they count as failed).
import puppeteer from 'puppeteer-core';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const T = Number(process.env.HEADWATER_APP_TEST_TIMEOUT_MS || 30000);
const HERE = dirname(fileURLToPath(import.meta.url));
const URL0 = process.env.HEADWATER_URL;
const ART = join(process.env.ARTEFACTS || join(HERE, 'artefacts'), 'sso');
mkdirSync(ART, { recursive: true });
const ORG = process.env.SSO_ORG_UID;
const OWNER = { email: process.env.SSO_OWNER_EMAIL, password: process.env.SSO_OWNER_PASSWORD };
const BOB = { email: process.env.SSO_BOB_EMAIL, password: process.env.SSO_BOB_PASSWORD };
const DOMAIN = 'sso.example.com';
const ALICE = { sub: 'idp-alice-0001', email: `alice@${DOMAIN}`, password: 'Alice-at-the-IdP-1', name: 'Alice Idp' };
const EVE = { sub: 'idp-eve-0002', email: 'eve@elsewhere.example.net', password: 'Eve-at-the-IdP-2', name: 'Eve Elsewhere' };
const CLIENT = { client_id: 'headwater-test', client_secret: randomBytes(24).toString('base64url') };

// ---- the plain API, as a script would call it ----------------------------------------------------
async function call(method, path, { headers = {}, body } = {}) {
  const r = await fetch(URL0 + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { text }; }
  return { status: r.status, body: json };
}

// ---- the provider --------------------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'hw-sso-'));
const cfgFile = join(work, 'idp.json');
writeFileSync(cfgFile, JSON.stringify({
  port: 0,
  client: { ...CLIENT, redirect_uris: [`${URL0}/sso/callback`], token_endpoint_auth_method: process.env.SSO_IDP_AUTH_METHOD || 'client_secret_basic' },
  accounts: [ALICE, EVE],
}));
const idp = spawn(process.execPath, [join(HERE, '../sso/idp/server.mjs'), cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
const idpLog = [];
idp.stderr.on('data', (d) => idpLog.push(String(d).trim()));
const ISSUER = await new Promise((resolve, reject) => {
  const rl = createInterface({ input: idp.stdout });
  const timer = setTimeout(() => reject(new Error(`the provider did not start: ${idpLog.join(' ')}`)), T);
  rl.on('line', (l) => {
    idpLog.push(l);
    const m = /^issuer: (\S+)/.exec(l);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  idp.on('exit', (c) => reject(new Error(`the provider exited (${c}): ${idpLog.join(' ')}`)));
});
console.log(`     OpenID provider at ${ISSUER}`);

// ---- steps ---------------------------------------------------------------------------------------
let passed = 0, failed = 0, stopped = false, shot = 0;
let page = null;
const recent = [];
function check(cond, msg) { if (!cond) throw new Error(msg); }
async function step(name, fn) {
  if (stopped) { failed++; console.log(`FAIL ${name} (not run: an earlier step failed)`); return; }
  try { await fn(); passed++; console.log(`PASS ${name}`); } catch (e) {
    failed++; stopped = true; console.log(`FAIL ${name}: ${e.message}`);
    try { const m = await page.$$eval('.error', (els) => els.map((x) => x.textContent).join(' / ')); if (m) console.log(`     on screen: ${m}`); } catch { /* no page */ }
    try { console.log(`     at: ${page.url()}`); } catch { /* no page */ }
    console.log(`     last answers: ${recent.slice(-20).join(' | ')}`);
    console.log(`     provider: ${idpLog.slice(-8).join(' | ')}`);
    try { await page.screenshot({ fullPage: true, path: join(ART, `failed-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) }); } catch { /* no page */ }
  }
}
async function snap(p, name) {
  shot++;
  await p.screenshot({ path: join(ART, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

const profile = mkdtempSync(join(tmpdir(), 'hw-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const consoleErrors = [];
const foreign = [];
// A fresh browser profile (no cookies shared with the others) per person.
async function person() {
  const ctx = await browser.createBrowserContext();
  const p = await ctx.newPage();
  await p.setViewport({ width: 1280, height: 800 });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  p.on('console', (m) => { if (m.type() === 'error' && p.url().startsWith(URL0)) consoleErrors.push(m.text()); });
  p.on('dialog', (d) => d.dismiss());
  p.on('response', (r) => { const u = r.url(); if (u.includes('/v3/') || u.includes('/sso/') || u.startsWith(ISSUER)) recent.push(`${r.status()} ${r.request().method()} ${u.replace(URL0, '').replace(ISSUER, 'idp')}`); });
  p.on('request', (r) => { const u = r.url(); if (!u.startsWith(URL0) && !u.startsWith(ISSUER) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u); });
  page = p;
  return { ctx, p };
}
const $ = (p, sel) => p.waitForSelector(sel, { visible: true, timeout: T });
const click = async (p, sel) => { const el = await $(p, sel); await el.click(); };
const type = async (p, sel, text) => { const el = await $(p, sel); await el.click({ clickCount: 3 }); await el.type(text); };
const waitText = (p, sel, text) => p.waitForFunction((s, t) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)), { timeout: T }, sel, text);
const dialogButton = async (p, label) => {
  await p.waitForSelector('dialog[open]', { visible: true, timeout: T });
  const handle = await p.waitForFunction((l) => [...document.querySelectorAll('dialog[open] button')].find((b) => b.textContent.trim() === l), { timeout: T }, label);
  await handle.asElement().click();
};
// fetch from inside the page: same origin, so the browser session cookie goes along.
const pageFetch = (p, method, path, { headers = {}, body } = {}) => p.evaluate(async (m, u, hd, b) => {
  const r = await fetch(u, { method: m, headers: { 'content-type': 'application/json', ...hd }, body: b, credentials: 'same-origin' });
  const text = await r.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { text }; }
  return { status: r.status, body: json };
}, method, path, headers, body === undefined ? undefined : JSON.stringify(body));

let ownerToken, apiKey, alice, aliceCookie, secret;

await step('setup: the owner (password) has an authtoken and a stack in the strict organization', async () => {
  const s = await call('POST', '/v3/user-session', { body: { user: OWNER } });
  check(s.status === 200 && s.body.user?.authtoken, `owner sign-in: ${s.status} ${JSON.stringify(s.body)}`);
  ownerToken = s.body.user.authtoken;
  const org = (s.body.user.organizations || []).find((o) => o.uid === ORG);
  check(org?.settings?.sso?.strict === true, `the organization is in strict mode: ${JSON.stringify(org?.settings)}`);
  const st = await call('POST', '/v3/stacks', { headers: { authtoken: ownerToken, organization_uid: ORG }, body: { stack: { name: 'SSO Stack', master_locale: 'en-us' } } });
  check(st.status === 201 || st.status === 200, `stack: ${st.status} ${JSON.stringify(st.body)}`);
  apiKey = st.body.stack.api_key;
  const none = await call('GET', `/v3/organizations/${ORG}/sso`, { headers: { authtoken: ownerToken } });
  check(none.status === 404 && none.body.error_message, `no SSO yet: ${none.status} ${JSON.stringify(none.body)}`);
});

let owner;
await step('owner: the organization settings show strict mode, and an unreachable issuer is refused with its message', async () => {
  owner = await person();
  const p = owner.p;
  await p.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await type(p, '#email', OWNER.email);
  await type(p, '#password', OWNER.password);
  await click(p, 'form button[type=submit]');
  await $(p, '#new-stack');
  await p.evaluate((o) => { location.hash = `/org/${o}/settings`; }, ORG);
  await $(p, '#sso-config-form');
  await waitText(p, '#sso-strict', 'Strict mode on');
  check(await p.$('#sso-none') !== null, 'the panel says SSO is not set up');
  const redirect = await p.$eval('#sso-redirect-uri', (e) => e.textContent);
  check(redirect === `${URL0}/sso/callback`, `the redirect URI to register: ${redirect}`);
  await snap(p, 'owner-sso-empty');
  await type(p, '#sso-issuer', 'http://127.0.0.1:9/nowhere');
  await type(p, '#sso-client-id', CLIENT.client_id);
  await type(p, '#sso-client-secret', CLIENT.client_secret);
  await type(p, '#sso-domains', DOMAIN);
  await click(p, '#sso-save');
  await $(p, '#sso-config-message .error');
  const err = await p.$eval('#sso-config-message .error', (e) => e.textContent);
  check(err.includes('issuer'), `the refusal names the issuer: ${err}`);
  await snap(p, 'owner-sso-unreachable');
});

await step('owner: sets the provider up in the app (member role, allowed domain); the secret is never shown', async () => {
  const p = owner.p;
  await type(p, '#sso-issuer', ISSUER);
  // The secret field was cleared? Type it again if so (a refused save keeps the form as it was).
  if (!(await p.$eval('#sso-client-secret', (i) => i.value))) await type(p, '#sso-client-secret', CLIENT.client_secret);
  check(await p.$eval('#sso-default-role', (s) => s.value) === 'member', 'member is the default role');
  await click(p, '#sso-save');
  await $(p, '#sso-config');
  await waitText(p, '#sso-config', ISSUER);
  const facts = await p.$eval('#sso-config', (e) => e.textContent);
  check(facts.includes('Enabled') && facts.includes(DOMAIN) && facts.includes('member'), `the panel shows the configuration: ${facts}`);
  check(!(await p.content()).includes(CLIENT.client_secret), 'the client secret is not on the page');
  await snap(p, 'owner-sso-set');
  const g = await call('GET', `/v3/organizations/${ORG}/sso`, { headers: { authtoken: ownerToken } });
  check(g.status === 200 && g.body.sso?.client_secret_set === true, `GET sso: ${g.status} ${JSON.stringify(g.body)}`);
  check(!JSON.stringify(g.body).includes(CLIENT.client_secret), 'the API never returns the secret');
  check(g.body.sso.default_role === 'member' && g.body.sso.enabled === true, `role and switch: ${JSON.stringify(g.body.sso)}`);
  await click(p, '#sign-out');
  await $(p, '#email');
  await owner.ctx.close();
});

await step('a new person: "Sign in with SSO" with their work email, the provider\'s login page, back in the app', async () => {
  alice = await person();
  const p = alice.p;
  await p.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await $(p, '#sso-id');
  await snap(p, 'sign-in-screen');
  await type(p, '#sso-id', ALICE.email);
  await Promise.all([p.waitForNavigation({ timeout: T }), click(p, '#sso-submit')]);
  await $(p, '#idp-email');
  check(p.url().startsWith(ISSUER), `on the provider: ${p.url()}`);
  await snap(p, 'provider-login');
  await type(p, '#idp-email', ALICE.email);
  await type(p, '#idp-password', 'not-the-password');
  await Promise.all([p.waitForNavigation({ timeout: T }), click(p, '#idp-submit')]);
  await $(p, '#idp-error');
  await type(p, '#idp-password', ALICE.password);
  await Promise.all([p.waitForNavigation({ timeout: T }), click(p, '#idp-submit')]);
  await p.waitForFunction((u) => location.href.startsWith(u), { timeout: T }, URL0);
  await $(p, '#new-stack');
  await waitText(p, '.who', ALICE.email);
  await $(p, '#sso-badge');
  check(!p.url().includes('code=') && !p.url().includes('state='), `nothing of the exchange stays in the address: ${p.url()}`);
  await snap(p, 'signed-in-by-sso');
});

await step('the browser session: HttpOnly hw_session, readable hw_csrf, nothing in storage', async () => {
  const p = alice.p;
  const cookies = await p.cookies(URL0);
  const s = cookies.find((c) => c.name === 'hw_session');
  const c = cookies.find((x) => x.name === 'hw_csrf');
  check(s && s.httpOnly && s.sameSite === 'Lax' && s.path === '/', `hw_session: ${JSON.stringify(s)}`);
  check(c && !c.httpOnly && c.sameSite === 'Lax', `hw_csrf: ${JSON.stringify(c)}`);
  aliceCookie = s.value;
  check(!(await p.evaluate(() => document.cookie)).includes('hw_session'), 'scripts cannot read hw_session');
  check(await p.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0), 'nothing in sessionStorage or localStorage');
});

await step('a member of the organization with the configured role (just-in-time)', async () => {
  const u = await pageFetch(alice.p, 'GET', '/v3/user');
  check(u.status === 200, `GET /v3/user: ${u.status}`);
  check(u.body.user.email === ALICE.email, `email: ${u.body.user.email}`);
  check(!('authtoken' in u.body.user), 'no authtoken in the answer');
  const org = (u.body.user.organizations || []).find((o) => o.uid === ORG);
  check(org && !org.is_owner, `member of the organization: ${JSON.stringify(u.body.user.organizations)}`);
  check(org.org_roles?.[0]?.name === 'member', `role: ${JSON.stringify(org.org_roles)}`);
  alice.uid = u.body.user.uid;
});

await step('no authtoken can be had: the cookie is no authtoken, a POST without the CSRF header is refused, password sign-in is refused', async () => {
  const p = alice.p;
  const asToken = await call('GET', '/v3/user', { headers: { authtoken: aliceCookie } });
  check(asToken.status === 401, `the session cookie's value as an authtoken: ${asToken.status}`);
  const noCsrf = await pageFetch(p, 'POST', '/v3/stacks', { headers: { organization_uid: ORG }, body: { stack: { name: 'No CSRF', master_locale: 'en-us' } } });
  check(noCsrf.status === 403 && /csrf/i.test(noCsrf.body.error_message || ''), `POST without x-csrf-token: ${noCsrf.status} ${JSON.stringify(noCsrf.body)}`);
  const login = await pageFetch(p, 'POST', '/v3/user-session', { body: { user: { email: ALICE.email, password: ALICE.password } } });
  check(login.status >= 400 && !JSON.stringify(login.body).includes('authtoken'), `POST /v3/user-session with the IdP password: ${login.status} ${JSON.stringify(login.body)}`);
  const all = JSON.stringify((await pageFetch(p, 'GET', '/v3/user?include_orgs=true')).body);
  check(!/authtoken/i.test(all), 'no authtoken anywhere in the user answer');
});

await step('password sign-in for an SSO member of the strict organization is refused (strict refusal, code 151), and the app offers SSO', async () => {
  const r = await call('POST', '/v3/user-session', { body: { user: BOB } });
  check(r.status === 403 && Number(r.body.error_code) === 151, `strict refusal: ${r.status} ${JSON.stringify(r.body)}`);
  check(!r.body.user && !JSON.stringify(r.body).includes('authtoken'), 'no authtoken');
  const bob = await person();
  const p = bob.p;
  await p.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await type(p, '#email', BOB.email);
  await type(p, '#password', BOB.password);
  await click(p, 'form button[type=submit]');
  await $(p, '#signin-message .error');
  await waitText(p, '#signin-message .error', 'single sign-on');
  await $(p, '#sso-message .info');
  check(await p.$eval('#sso-id', (i) => i.value) === BOB.email, 'the SSO field is filled in');
  check(await p.evaluate(() => sessionStorage.getItem('headwater.authtoken')) === null, 'no authtoken kept');
  await snap(p, 'password-refused-strict');
  await bob.ctx.close();
  page = alice.p;
});

await step('as a stack admin, the SSO member creates a management token in the app (a POST with the CSRF header)', async () => {
  const roles = await call('GET', '/v3/roles', { headers: { api_key: apiKey, authtoken: ownerToken } });
  const admin = (roles.body.roles || []).find((r) => r.name === 'Admin');
  check(admin, `the stack's Admin role: ${JSON.stringify(roles.body).slice(0, 300)}`);
  const s = await call('POST', '/v3/stacks/share', { headers: { api_key: apiKey, authtoken: ownerToken }, body: { emails: [ALICE.email], roles: { [ALICE.email]: [admin.uid] } } });
  check(s.status === 200, `share: ${s.status} ${JSON.stringify(s.body)}`);
  const p = alice.p;
  await p.evaluate(() => { location.hash = '/'; });
  await p.evaluate(() => location.reload());
  await $(p, '#stack-switch');
  await p.waitForFunction((k) => [...document.querySelectorAll('#stack-switch option')].some((o) => o.value === k), { timeout: T }, apiKey);
  await p.evaluate((k) => { location.hash = `/s/${k}/tokens`; }, apiKey);
  await click(p, '#new-token');
  await $(p, '#mt-name');
  await type(p, '#mt-name', 'Nightly import');
  for (const n of ['read-content_type', 'write-content_type']) await p.$eval(`input[name="${n}"]`, (el) => { if (!el.checked) el.click(); });
  await snap(p, 'sso-member-token-form');
  await click(p, '#mt-save');
  await $(p, '#token-secret');
  secret = await p.$eval('#token-secret', (i) => i.value);
  check(secret && secret.length > 20, 'the secret is shown once');
  await snap(p, 'sso-member-token-secret');
  await click(p, '#secret-done');
  await waitText(p, '#token-list', 'Nightly import');
});

await step('a script uses the management token (fetch, no person, no password)', async () => {
  const h = { api_key: apiKey, authorization: secret };
  const a = await call('GET', '/v3/content_types', { headers: h });
  check(a.status === 200, `GET content types: ${a.status} ${JSON.stringify(a.body)}`);
  const b = await call('POST', '/v3/content_types', { headers: h, body: { content_type: { title: 'Imported', uid: 'imported', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true }] } } });
  check(b.status === 201, `POST content type: ${b.status} ${JSON.stringify(b.body)}`);
  const c = await call('GET', `/v3/organizations/${ORG}/sso`, { headers: h });
  check(c.status >= 400 && c.status < 500 && c.status !== 404, `the token is refused on the organization's SSO settings: ${c.status}`);
});

await step('sign out ends the browser session (DELETE /v3/user-session) and clears the cookies', async () => {
  const p = alice.p;
  await click(p, '#sign-out');
  await $(p, '#email');
  const left = (await p.cookies(URL0)).filter((c) => c.name === 'hw_session' || c.name === 'hw_csrf');
  check(left.length === 0, `cookies left: ${JSON.stringify(left)}`);
  const old = await call('GET', '/v3/user', { headers: { cookie: `hw_session=${aliceCookie}` } });
  check(old.status === 401, `the old session cookie after sign out: ${old.status}`);
  await p.reload({ waitUntil: 'domcontentloaded' });
  await $(p, '#email');
  await alice.ctx.close();
});

await step('error path: discovery by a domain no organization signs in is answered in the app', async () => {
  const eve = await person();
  const p = eve.p;
  await p.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await type(p, '#sso-id', EVE.email);
  await click(p, '#sso-submit');
  await $(p, '#sso-message .error');
  await waitText(p, '#sso-message .error', 'elsewhere.example.net');
  await snap(p, 'discover-unknown-domain');
  await eve.ctx.close();
});

await step('error path: a provider account outside the allowed domain comes back with a readable message', async () => {
  const eve = await person();
  const p = eve.p;
  await p.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await type(p, '#sso-id', ORG);
  await Promise.all([p.waitForNavigation({ timeout: T }), click(p, '#sso-submit')]);
  await $(p, '#idp-email');
  await type(p, '#idp-email', EVE.email);
  await type(p, '#idp-password', EVE.password);
  await Promise.all([p.waitForNavigation({ timeout: T }), click(p, '#idp-submit')]);
  await p.waitForFunction((u) => location.href.startsWith(u), { timeout: T }, URL0);
  await $(p, '#sso-error');
  const text = await p.$eval('#sso-error', (e) => e.textContent);
  check(text.includes('domain_not_allowed') && text.includes('not allowed'), `the message: ${text}`);
  check(!p.url().includes('sso_error'), `the code is taken out of the address: ${p.url()}`);
  check((await p.cookies(URL0)).every((c) => c.name !== 'hw_session'), 'no session was made');
  await $(p, '#email');
  await snap(p, 'sso-error-domain');
  await eve.ctx.close();
});

await step('no script errors in the app and no request left the server or the provider', async () => {
  const real = consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (4\d\d)/.test(e));
  check(real.length === 0, `errors: ${real.join(' | ')}`);
  check(foreign.length === 0, `foreign requests: ${foreign.join(' ')}`);
});

await browser.close();
idp.kill('SIGTERM');
rmSync(profile, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
