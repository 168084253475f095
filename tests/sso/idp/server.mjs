// A real OpenID Connect provider for the SSO tests: node-oidc-provider (pinned in package.json)
// on 127.0.0.1, with one confidential client (client secret + PKCE) and a few accounts, and a
// minimal login page of its own (email + password; no consent screen for the one client).
//
//   node tests/sso/idp/server.mjs CONFIG.json
//
// CONFIG.json:
//   { "port": 0,                                  // 0: any free port
//     "client": { "client_id": "...", "client_secret": "...", "redirect_uris": ["http://127.0.0.1:N/sso/callback"],
//                 "token_endpoint_auth_method": "client_secret_basic" },   // optional, that is the default
//     "accounts": [ { "sub": "...", "email": "...", "password": "...", "name": "..." } ] }
//
// Prints one line `issuer: http://127.0.0.1:<port>` on stdout once it listens, then a line per
// sign-in (`login ok <email>` / `login refused <email>`) and per token exchange. Test use only:
// the signing key is made at start and kept in memory; everything is in memory.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = cfg.accounts || [];

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.4 system-ui,sans-serif;background:#eef2ee;margin:0}main{max-width:24rem;margin:4rem auto;background:#fff;
border:1px solid #cdd8cd;border-radius:8px;padding:1.5rem}h1{font-size:1.3rem;margin:0 0 1rem;color:#1d5b2c}label{display:block;font-weight:600;
margin:.6rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}button{margin-top:1rem;padding:.5rem 1rem;font:inherit;
background:#1d5b2c;color:#fff;border:0;border-radius:4px}.err{background:#fbe9e7;color:#6b1a14;padding:.5rem;border-radius:4px}
.muted{color:#667}</style></head><body><main>${body}</main></body></html>`;
}

function loginPage(uid, clientId, error, email = '') {
  return page('Test identity provider: sign in', `<h1>Test Identity Provider</h1>
<p class="muted">Sign in to continue to <strong>${esc(clientId)}</strong>.</p>
${error ? `<p class="err" role="alert" id="idp-error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="idp-email">Email</label><input id="idp-email" name="email" type="email" value="${esc(email)}" required autofocus>
<label for="idp-password">Password</label><input id="idp-password" name="password" type="password" required>
<button id="idp-submit" type="submit">Sign in</button></form>
<p><a href="/interaction/${esc(uid)}/abort" id="idp-abort">Cancel</a></p>`);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((ok) => server.listen(cfg.port || 0, '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: cfg.client.client_id,
    client_secret: cfg.client.client_secret,
    redirect_uris: cfg.client.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: cfg.client.token_endpoint_auth_method || 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The ID token carries the scope's claims (email), so a relying party needs no userinfo call.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The one client is first-party: its grant is made here, so no consent screen is shown.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const a = accounts.find((x) => x.sub === id);
    if (!a) return undefined;
    return { accountId: a.sub, async claims() { return { sub: a.sub, email: a.email, email_verified: true, name: a.name || a.email }; } };
  },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 300, AuthorizationCode: 60, IdToken: 300 },
});
provider.on('grant.success', () => console.log('token exchange ok'));
provider.on('grant.error', (ctx, err) => console.log(`token exchange refused: ${err.message} ${err.error_description || ''}`));
provider.on('server_error', (ctx, err) => console.log(`server error: ${err.stack}`));

async function form(req) {
  let raw = '';
  for await (const chunk of req) { raw += chunk; if (raw.length > 1e5) break; }
  return new URLSearchParams(raw);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/.exec(new URL(req.url, issuer).pathname);
  if (!m) return callback(req, res);
  res.setHeader('cache-control', 'no-store');
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== m[1]) throw new Error('interaction mismatch');
    if (!m[2] && req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(loginPage(details.uid, details.params.client_id));
    }
    if (m[2] === '/abort') {
      return await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled the sign-in.' }, { mergeWithLastSubmission: false });
    }
    if (m[2] === '/login' && req.method === 'POST') {
      const f = await form(req);
      const email = (f.get('email') || '').trim().toLowerCase();
      const a = accounts.find((x) => x.email.toLowerCase() === email && x.password === f.get('password'));
      if (!a) {
        console.log(`login refused ${email}`);
        res.statusCode = 200;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(loginPage(details.uid, details.params.client_id, 'Wrong email or password.', email));
      }
      console.log(`login ok ${email}`);
      return await provider.interactionFinished(req, res, { login: { accountId: a.sub } }, { mergeWithLastSubmission: false });
    }
    res.statusCode = 405;
    res.end();
  } catch (e) {
    res.statusCode = 400;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('Sign-in failed', `<h1>Sign-in failed</h1><p class="err">${esc(e.message)}</p>`));
  }
});
console.log(`issuer: ${issuer}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
