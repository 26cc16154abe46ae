// format.js - how the admin page shows and reads dates and amounts (es-AR): dates as dd/mm/aaaa, amounts
// as "$ 43.200,00". Amounts stay decimal strings end to end ("43200.00" from the API); they never pass
// through binary floating point. Pure functions, no DOM: tests/e2e/format.test.mjs runs them under Node.

export const DEFAULT_TZ = 'America/Argentina/Buenos_Aires';

const pad2 = (n) => String(n).padStart(2, '0');

// "2026-12-05" -> "05/12/2026"; anything else is returned as it came ("" for null).
export function fmtDate(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : String(iso);
}

// "05/12/2026" or "5/12/2026" -> "2026-12-05"; null unless it is a real calendar date.
export function parseDate(text) {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text || '');
  if (!m) return null;
  const d = Number(m[1]), mo = Number(m[2]), y = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || y < 1900 || y > 9999) return null;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > days) return null;
  return `${y}-${pad2(mo)}-${pad2(d)}`;
}

// "2026-12-01T23:24:14Z" -> "01/12/2026 20:24" in the property's time zone.
export function fmtDateTime(iso, tz = DEFAULT_TZ) {
  if (!iso) return '';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  const parts = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(t)) parts[p.type] = p.value;
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
}

// "43200.00" -> "$ 43.200,00"; other currencies keep their code: "USD 1.250,50".
export function fmtMoney(amount, currency = 'ARS') {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount ?? ''));
  if (!m) return String(amount ?? '');
  const whole = m[2].replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  const cents = (m[3] || '').padEnd(2, '0');
  const symbol = !currency || currency === 'ARS' ? '$' : currency;
  return `${m[1]}${symbol} ${whole},${cents}`;
}

// What an owner types -> the API's decimal string, or null. "43.200,50", "43200,5", "43200.50",
// "43.200" (thousands) and "$ 43.200" are all understood; at most 2 decimals.
export function parseMoney(text) {
  let s = String(text || '').replace(/[$\s]/g, '');
  if (!s) return null;
  if (s.includes(',')) {
    s = s.replace(/\./g, '').replace(',', '.');
  } else if (/^\d{1,3}(\.\d{3})+$/.test(s)) {
    s = s.replace(/\./g, '');
  }
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const whole = m[1].replace(/^0+(?=\d)/, '');
  return `${whole}.${(m[2] || '').padEnd(2, '0')}`;
}

// A multiplier: "1,2" or "1.20" -> "1.20"; null unless 0 < x <= 10 with at most 4 decimals.
export function parseMultiplier(text) {
  const s = String(text || '').trim().replace(',', '.');
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) return null;
  const value = `${Number(m[1])}.${(m[2] || '').padEnd(2, '0')}`;
  const n = Number(value);
  if (!(n > 0 && n <= 10)) return null;
  return value;
}

// "1.20" -> "1,20"
export function fmtMultiplier(text) {
  return String(text || '').replace('.', ',');
}

// 0.1071 -> "10,7 %"; null -> "—"
export function fmtPercent(rate) {
  if (rate === null || rate === undefined) return '—';
  return `${(Math.round(rate * 1000) / 10).toFixed(1).replace('.', ',')} %`;
}

export const MONTHS = ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto',
  'septiembre', 'octubre', 'noviembre', 'diciembre'];
export const WEEKDAYS_SHORT = ['D', 'L', 'M', 'M', 'J', 'V', 'S'];
export const WEEKDAYS = ['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'];
// The API's weekday names, Sunday first (as weekend_nights uses them).
export const WEEKDAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// "2026-12" -> "diciembre de 2026"
export function fmtMonth(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
  return m ? `${MONTHS[Number(m[2]) - 1]} de ${m[1]}` : String(ym || '');
}

// "2026-12" +/- n months
export function addMonths(ym, n) {
  const [y, m] = ym.split('-').map(Number);
  const z = y * 12 + (m - 1) + n;
  return `${Math.floor(z / 12)}-${pad2((z % 12) + 1)}`;
}

// weekday (0 = Sunday) of an ISO date
export function weekday(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

// ISO date + n days
export function addDays(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())}`;
}

export const STATUS_LABELS = {
  pre_reserved: 'Pre-reserva',
  confirmed: 'Confirmada',
  cancelled: 'Cancelada',
  expired: 'Vencida',
};

export const NIGHT_LABELS = {
  free: 'Libre',
  hold: 'Pre-reserva',
  confirmed: 'Confirmada',
  block: 'Bloqueada',
  conflict: 'Conflicto',
};

export const CHANNEL_LABELS = {
  web: 'Web', whatsapp: 'WhatsApp', admin: 'Administración', api: 'API', phone: 'Teléfono',
  email: 'Email', airbnb: 'Airbnb', booking: 'Booking.com',
};
