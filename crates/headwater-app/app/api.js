// The one way the app talks to the server: the public API at /v3, like any script would.
// Two ways to be signed in:
// - password sign-in: the authtoken lives in sessionStorage (gone when the tab closes) and is
//   sent in the `authtoken` header only; it never appears in a URL; no cookie is sent.
// - single sign-on: the server set an HttpOnly `hw_session` cookie after the identity
//   provider's sign-in; the app holds no credential at all. Requests carry the cookie, and
//   unsafe methods repeat the `hw_csrf` cookie's value in the `x-csrf-token` header.

const KEY = 'headwater.authtoken';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(t) { t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY); },
  cookie: false, // true while signed in by a browser session cookie (SSO)
  get signedIn() { return Boolean(this.token || this.cookie); },
  user: null, // the signed-in user (GET /v3/user), in memory only
  branch: {}, // api_key -> chosen branch uid
};

/** The value of a cookie readable by scripts (only `hw_csrf` is; `hw_session` is HttpOnly). */
export function cookieValue(name) {
  for (const part of document.cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

// Headers that name the caller: the authtoken, or (cookie session) the CSRF token on unsafe methods.
function credentialHeaders(method, headers) {
  if (session.token) headers.authtoken = session.token;
  else if (UNSAFE.has(method.toUpperCase())) {
    const csrf = cookieValue('hw_csrf');
    if (csrf) headers['x-csrf-token'] = csrf;
  }
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error_message ? body.error_message : `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
  // "field: message" lines from the API's `errors` object.
  get details() {
    const e = this.body.errors;
    if (!e || typeof e !== 'object') return [];
    return Object.entries(e).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((m) => `${k}: ${typeof m === 'string' ? m : JSON.stringify(m)}`));
  }
}

let onSignedOut = () => {};
export function whenSignedOut(f) { onSignedOut = f; }

/**
 * api('GET', '/v3/stacks', {stack: apiKey, query: {...}, body: {...}, headers: {...}})
 * Resolves to the parsed JSON body; rejects with ApiError carrying the API's error body.
 */
export async function api(method, path, opts = {}) {
  const headers = { accept: 'application/json', ...(opts.headers || {}) };
  if (!opts.anonymous) credentialHeaders(method, headers);
  if (opts.stack) {
    headers.api_key = opts.stack;
    const b = session.branch[opts.stack];
    if (b && !opts.noBranch) headers.branch = b;
  }
  let body;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  // The session cookie goes only with a cookie session (or the probe for one), never beside an authtoken.
  const withCookie = !opts.anonymous && !headers.authtoken;
  const r = await fetch(url, { method, headers, body, credentials: withCookie ? 'same-origin' : 'omit', cache: 'no-store' });
  const text = await r.text();
  let data = {};
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error_message: text.slice(0, 300) }; }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, data);
    if (r.status === 401 && !opts.anonymous && !opts.probe && (headers.authtoken || session.cookie)) {
      session.token = null;
      session.cookie = false;
      session.user = null;
      onSignedOut(err);
    }
    throw err;
  }
  return data;
}

// Uploads with progress (fetch has no upload progress): XMLHttpRequest, same headers.
export function upload(method, path, form, { stack, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(method, path);
    x.setRequestHeader('accept', 'application/json');
    const cred = {};
    credentialHeaders(method, cred);
    for (const [k, v] of Object.entries(cred)) x.setRequestHeader(k, v);
    if (stack) {
      x.setRequestHeader('api_key', stack);
      if (session.branch[stack]) x.setRequestHeader('branch', session.branch[stack]);
    }
    x.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let data = {};
      try { data = x.responseText ? JSON.parse(x.responseText) : {}; } catch { data = { error_message: x.responseText.slice(0, 300) }; }
      x.status >= 200 && x.status < 300 ? resolve(data) : reject(new ApiError(x.status, data));
    };
    x.onerror = () => reject(new ApiError(0, { error_message: 'The request could not be sent.' }));
    x.send(form);
  });
}
