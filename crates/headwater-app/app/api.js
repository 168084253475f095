// The one way the app talks to the server: the public API at /v3, like any script would.
// The authtoken lives in sessionStorage (gone when the tab closes) and is sent in the
// `authtoken` header only; it never appears in a URL.

const KEY = 'headwater.authtoken';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(t) { t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY); },
  user: null, // the signed-in user (GET /v3/user), in memory only
  branch: {}, // api_key -> chosen branch uid
};

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
  if (session.token && !opts.anonymous) headers.authtoken = session.token;
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
  const r = await fetch(url, { method, headers, body, credentials: 'omit', cache: 'no-store' });
  const text = await r.text();
  let data = {};
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error_message: text.slice(0, 300) }; }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, data);
    if (r.status === 401 && headers.authtoken && !opts.anonymous) {
      session.token = null;
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
    if (session.token) x.setRequestHeader('authtoken', session.token);
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
