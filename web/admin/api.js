// api.js - the admin API from the page: the bearer token (kept in sessionStorage, never in a URL), JSON
// requests, problem documents turned into errors with a Spanish message.

const TOKEN_KEY = 'cabanas.admin.token';
const EMAIL_KEY = 'cabanas.admin.email';

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, email: sessionStorage.getItem(EMAIL_KEY) || '' } : null;
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EMAIL_KEY);
}

const MESSAGES = {
  invalid_credentials: 'Email o contraseña incorrectos.',
  too_many_attempts: 'Demasiados intentos fallidos. Esperá unos minutos y volvé a probar.',
  date_overlap: 'Esas noches ya están ocupadas (pre-reserva, reserva o bloqueo).',
  invalid_state: 'La reserva no se puede cambiar en su estado actual.',
  reservation_not_found: 'No existe esa reserva.',
  accommodation_not_found: 'No existe ese alojamiento.',
  block_not_found: 'Ese bloqueo ya no existe.',
  check_in_in_past: 'La fecha de inicio ya pasó.',
  too_far_ahead: 'La fecha está demasiado adelante.',
  invalid_dates: 'La fecha de fin debe ser posterior a la de inicio.',
  database_unavailable: 'La base de datos no responde. Probá de nuevo en unos segundos.',
  rate_limited: 'Demasiados pedidos seguidos. Esperá un momento.',
  export_too_large: 'Demasiadas reservas para exportar: acotá los filtros.',
};

export function errorText(err) {
  if (err instanceof ApiError) {
    if (MESSAGES[err.code]) return MESSAGES[err.code];
    if (err.code === 'invalid_field' || err.code === 'invalid_date') return `Dato inválido: ${err.message}`;
    return `Error ${err.status}: ${err.message}`;
  }
  return 'No se pudo conectar con el servidor.';
}

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// One request. `opts.idempotent` sends an Idempotency-Key; `opts.raw` returns the Response (for CSV).
// Throws ApiError for any non-2xx answer (401 also ends the session).
export async function api(method, path, body, opts = {}) {
  const s = session();
  const headers = { Accept: opts.raw ? 'text/csv' : 'application/json' };
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idempotent) headers['Idempotency-Key'] = randomKey();
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'sin conexión');
  }
  if (res.status === 401 && s) {
    logout();
    onUnauthorized();
  }
  if (!res.ok) {
    let code = '', detail = '';
    try {
      const p = await res.json();
      code = p.error || '';
      detail = p.detail || '';
    } catch (e) { /* not a problem document */ }
    throw new ApiError(res.status, code, detail);
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

// The same, but a route this server does not have (404 `not_found`, from another feature) is null.
export async function optional(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405) && e.code !== 'accommodation_not_found') {
      if (e.code === 'not_found' || e.code === 'method_not_allowed') return null;
    }
    throw e;
  }
}

export async function login(email, password) {
  const r = await api('POST', '/api/v1/admin/login', { email, password });
  sessionStorage.setItem(TOKEN_KEY, r.access_token);
  sessionStorage.setItem(EMAIL_KEY, r.email || email);
  return r;
}
