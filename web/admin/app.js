// app.js - the owner's console: login, dashboard, month calendar, reservations, accommodations (prices,
// blocks, iCal), undelivered messages and the audit trail. A hash router (#/panel, #/calendario, …) so the
// server serves one page; every view is rebuilt from the API when shown.

import { ApiError, api, errorText, login, logout, optional, session, setUnauthorizedHandler } from './api.js';
import { checkbox, field, fill, h } from './dom.js';
import {
  CHANNEL_LABELS, DEFAULT_TZ, NIGHT_LABELS, STATUS_LABELS, WEEKDAYS, WEEKDAYS_SHORT, WEEKDAY_KEYS, addDays,
  addMonths, fmtDate, fmtDateTime, fmtMoney, fmtMonth, fmtMultiplier, fmtPercent, parseDate, parseMoney,
  parseMultiplier, weekday,
} from './format.js';
import { FormError, closeDialog, copyText, formDialog, setupDialog, showDialog, toast } from './ui.js';

const state = {
  tz: DEFAULT_TZ,
  month: null, // calendar month "YYYY-MM"
  calendarAccommodation: '',
  page: 0,
  pageSize: 20,
  filter: { status: '', accommodation_id: '', from: '', to: '', q: '' },
};

const main = () => document.getElementById('main');
let renderSeq = 0;

// --- helpers -------------------------------------------------------------------------------------------

function todayInTz() {
  const parts = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {
    timeZone: state.tz, year: 'numeric', month: '2-digit', day: '2-digit',
  }).formatToParts(new Date())) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function accommodations() {
  const r = await api('GET', '/api/v1/admin/accommodations');
  return r.items;
}

// A table cell with its label (shown before the value when the table turns into cards on phones).
function td(label, props, ...content) {
  return h('td', { 'data-label': label, ...props }, h('div', { class: 'cell' }, content));
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, STATUS_LABELS[status] || status);
}

function heading(text, ...extra) {
  return h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, text), extra);
}

function loading() {
  return h('p', { class: 'loading', role: 'status' }, 'Cargando…');
}

function failure(e) {
  return h('p', { class: 'error', role: 'alert' }, errorText(e));
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// --- login ---------------------------------------------------------------------------------------------

function viewLogin(root, message) {
  document.getElementById('topbar').hidden = true;
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = field('Contraseña', {
    type: 'password', name: 'password', autocomplete: 'current-password', required: true,
  });
  const err = h('p', { class: 'error', role: 'alert' }, message || '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Ingresar');
  const form = h('form', { class: 'form login', novalidate: true }, email.wrap, password.wrap, err, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!email.input.value.trim() || !password.input.value) {
      err.textContent = 'Completá el email y la contraseña.';
      return;
    }
    submit.disabled = true;
    try {
      await login(email.input.value.trim(), password.input.value);
      if (!location.hash || location.hash === '#/' || location.hash === '#/ingresar') location.hash = '#/panel';
      else render();
    } catch (e) {
      err.textContent = errorText(e);
      password.input.value = '';
      password.input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  fill(root, h('section', { class: 'login-box' },
    h('h1', {}, 'Administración de Cabañas'),
    h('p', { class: 'muted' }, 'Ingresá con tu cuenta de administrador.'),
    form));
  email.input.focus();
}

// --- dashboard -----------------------------------------------------------------------------------------

function card(title, body, opts = {}) {
  return h('article', { class: `card ${opts.class || ''}`, dataset: { card: opts.id || '' } },
    h('h2', {}, title), body);
}

function stat(value, label, id) {
  return h('p', { class: 'stat' }, h('span', { class: 'stat-value', dataset: { stat: id } }, value),
    h('span', { class: 'stat-label' }, label));
}

function notInstalled() {
  return h('p', { class: 'muted' }, 'No disponible en este servidor todavía.');
}

async function viewDashboard(root) {
  const s = await api('GET', '/api/v1/admin/dashboard/stats');
  state.tz = s.timezone || DEFAULT_TZ;
  const by = s.reservations.by_status;
  const occ = s.occupancy;
  const revenue = s.revenue.by_currency.length ? s.revenue.by_currency
    : [{ currency: 'ARS', confirmed_total: '0.00', deposits_received: '0.00' }];
  const cards = [
    card('Reservas', h('div', { class: 'stats' },
      stat(by.confirmed, 'confirmadas', 'confirmed'),
      stat(by.pre_reserved, 'pre-reservas', 'pre_reserved'),
      stat(by.cancelled, 'canceladas', 'cancelled'),
      stat(by.expired, 'vencidas', 'expired')), { id: 'reservations' }),
    card(`Ocupación: próximos ${occ.nights} días`, [
      stat(fmtPercent(occ.overall.rate), `${occ.overall.confirmed_nights} de ${occ.overall.sellable_nights} noches vendidas`,
        'occupancy'),
      h('ul', { class: 'occupancy' }, occ.accommodations.map((a) => h('li', {},
        h('span', { class: 'occ-name' }, a.name),
        h('meter', { min: 0, max: 1, value: a.rate ?? 0, 'aria-label': `Ocupación de ${a.name}` }),
        h('span', { class: 'occ-rate' }, fmtPercent(a.rate))))),
      h('p', { class: 'muted small' }, `Del ${fmtDate(occ.from)} al ${fmtDate(addDays(occ.to, -1))}; las noches bloqueadas no cuentan.`),
    ], { id: 'occupancy', class: 'wide' }),
    card(`Ingresos de ${fmtMonth(s.revenue.month)}`, revenue.map((r) => h('div', { class: 'stats' },
      stat(fmtMoney(r.confirmed_total, r.currency), 'en reservas confirmadas este mes', 'revenue'),
      stat(fmtMoney(r.deposits_received, r.currency), 'en señas cobradas este mes', 'deposits'))),
    { id: 'revenue' }),
    card('Pre-reservas activas', h('div', { class: 'stats' },
      stat(s.holds.active, 'esperando el pago', 'holds'),
      stat(s.holds.expiring_within_hour, 'vencen en la próxima hora', 'expiring')), { id: 'holds' }),
    card(`Conversión: últimos ${s.conversion.days} días`, [
      stat(fmtPercent(s.conversion.rate), `${s.conversion.converted} de ${s.conversion.holds_created} pre-reservas se confirmaron`,
        'conversion'),
    ], { id: 'conversion' }),
    card('Pagos a devolver', s.payments_needing_refund === null ? notInstalled()
      : stat(s.payments_needing_refund, 'pagos aprobados sin noches libres', 'refunds'),
    { id: 'refunds', class: s.payments_needing_refund ? 'alert' : '' }),
    card('Calendarios externos (iCal)', s.ical_feeds === null ? notInstalled()
      : h('div', { class: 'stats' }, stat(s.ical_feeds.failing, 'con error', 'ical_failing'),
        stat(s.ical_feeds.stale, 'sin sincronizar hace rato', 'ical_stale')),
    { id: 'ical', class: s.ical_feeds && (s.ical_feeds.failing || s.ical_feeds.stale) ? 'alert' : '' }),
    card('Mensajes sin entregar', [stat(s.outbox.dead, 'mensajes fallidos', 'dead'),
      s.outbox.dead ? h('a', { href: '#/mensajes' }, 'Ver y reintentar') : null],
    { id: 'dead', class: s.outbox.dead ? 'alert' : '' }),
    card('WhatsApp', s.whatsapp_waiting_for_person === null ? notInstalled()
      : stat(s.whatsapp_waiting_for_person, 'conversaciones esperan a una persona', 'whatsapp'),
    { id: 'whatsapp', class: s.whatsapp_waiting_for_person ? 'alert' : '' }),
  ];
  fill(root, 
    heading('Panel', h('p', { class: 'muted' }, `Hoy: ${fmtDate(s.today)} · actualizado ${fmtDateTime(s.generated_at, state.tz)}`)),
    h('div', { class: 'cards' }, cards));
}

// --- reservation actions (shared by the calendar and the table) --------------------------------------

function reservationDetails(r) {
  const rows = [
    ['Código', r.code],
    ['Estado', STATUS_LABELS[r.status] || r.status],
    ['Alojamiento', r.accommodation_name],
    ['Entrada', fmtDate(r.check_in)],
    ['Salida', fmtDate(r.check_out)],
    ['Noches', r.nights],
    ['Huéspedes', r.guests],
    ['Nombre', r.guest_name],
    ['Teléfono', r.guest_phone],
    ['Email', r.guest_email || '—'],
    ['Canal', CHANNEL_LABELS[r.channel] || r.channel],
    ['Total', fmtMoney(r.total_price, r.currency)],
    ['Seña', `${fmtMoney(r.deposit_amount, r.currency)} (${r.deposit_percent} %)`],
    ['Pagado', fmtMoney(r.paid_amount, r.currency)],
  ];
  if (r.status === 'pre_reserved' && r.expires_at) rows.push(['Vence', fmtDateTime(r.expires_at, state.tz)]);
  if (r.confirmed_at) rows.push(['Confirmada', fmtDateTime(r.confirmed_at, state.tz)]);
  if (r.cancelled_at) rows.push(['Cancelada', fmtDateTime(r.cancelled_at, state.tz)]);
  if (r.cancel_reason) rows.push(['Motivo', r.cancel_reason]);
  if (r.notes) rows.push(['Nota', r.notes]);
  return h('dl', { class: 'details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? ''))]));
}

function reservationButtons(r, after) {
  const b = [];
  if (r.status === 'pre_reserved' || r.status === 'expired') {
    b.push({ label: 'Confirmar pago', kind: 'primary', onClick: () => { confirmDialog(r, after); return false; } });
  }
  if (r.status === 'pre_reserved' || r.status === 'confirmed') {
    b.push({ label: 'Cancelar reserva', kind: 'danger', onClick: () => { cancelDialog(r, after); return false; } });
  }
  return b;
}

async function showReservation(code, after) {
  const r = await api('GET', `/api/v1/admin/reservations/${encodeURIComponent(code)}`);
  showDialog(`Reserva ${r.code}`, reservationDetails(r), reservationButtons(r, after));
}

function confirmDialog(r, after) {
  const amount = field('Monto cobrado', {
    name: 'amount', inputmode: 'decimal', value: fmtMoney(r.deposit_amount, 'ARS').replace('$ ', ''),
    'data-hint': `La seña es ${fmtMoney(r.deposit_amount, r.currency)}; el total, ${fmtMoney(r.total_price, r.currency)}.`,
  });
  const note = field('Nota (opcional)', { name: 'note', maxlength: 500 }, 'textarea');
  formDialog(`Confirmar el pago de ${r.code}`, [
    h('p', {}, `${r.guest_name} · ${r.accommodation_name} · ${fmtDate(r.check_in)} al ${fmtDate(r.check_out)}`),
    amount.wrap, note.wrap,
  ], 'Confirmar pago', async () => {
    const value = parseMoney(amount.input.value);
    if (!value) throw new FormError('Escribí el monto como 43.200,00.');
    const body = { amount: value };
    if (note.input.value.trim()) body.note = note.input.value.trim();
    await api('POST', `/api/v1/admin/reservations/${encodeURIComponent(r.code)}/confirm`, body, { idempotent: true });
    toast(`Reserva ${r.code} confirmada.`);
    if (after) after();
  });
}

function cancelDialog(r, after) {
  const reason = field('Motivo de la cancelación', { name: 'reason', maxlength: 500, required: true }, 'textarea');
  formDialog(`Cancelar ${r.code}`, [
    h('p', {}, `${r.guest_name} · ${r.accommodation_name} · ${fmtDate(r.check_in)} al ${fmtDate(r.check_out)}. Las noches quedan libres enseguida.`),
    reason.wrap,
  ], 'Cancelar reserva', async () => {
    const text = reason.input.value.trim();
    if (!text) throw new FormError('Escribí el motivo.');
    await api('POST', `/api/v1/admin/reservations/${encodeURIComponent(r.code)}/cancel`, { reason: text },
      { idempotent: true });
    toast(`Reserva ${r.code} cancelada.`);
    if (after) after();
  });
}

function blockDialog(acc, start, end, after) {
  const from = field('Desde (primera noche)', { name: 'start', placeholder: 'dd/mm/aaaa', inputmode: 'numeric', value: start ? fmtDate(start) : '' });
  const to = field('Hasta (primera noche libre)', { name: 'end', placeholder: 'dd/mm/aaaa', inputmode: 'numeric', value: end ? fmtDate(end) : '' });
  const reason = field('Motivo', { name: 'reason', maxlength: 500 });
  formDialog(`Bloquear noches de ${acc.name}`, [from.wrap, to.wrap, reason.wrap], 'Bloquear', async () => {
    const s = parseDate(from.input.value), e = parseDate(to.input.value);
    if (!s || !e) throw new FormError('Escribí las fechas como dd/mm/aaaa.');
    await api('POST', `/api/v1/admin/accommodations/${acc.id}/blocks`, { start: s, end: e, reason: reason.input.value.trim() });
    toast('Noches bloqueadas.');
    if (after) after();
  });
}

async function deleteBlock(accId, blockId, after) {
  await api('DELETE', `/api/v1/admin/accommodations/${accId}/blocks/${blockId}`);
  toast('Bloqueo eliminado: las noches quedan libres.');
  if (after) after();
}

// --- calendar ------------------------------------------------------------------------------------------

const NIGHT_MARK = { free: '', hold: 'P', confirmed: 'C', block: 'B', conflict: '!' };

function nightLabel(acc, n) {
  let s = `${WEEKDAYS[weekday(n.date)]} ${fmtDate(n.date)}, ${acc.name}: ${NIGHT_LABELS[n.state] || n.state}`;
  if (n.code) s += ` ${n.code}, ${n.guest_name}`;
  if (n.state === 'block' && n.reason) s += ` (${n.reason})`;
  return s;
}

function nightDialog(acc, n, refresh) {
  const title = `${acc.name} · noche del ${fmtDate(n.date)}`;
  if (n.state === 'free') {
    showDialog(title, h('p', {}, 'Libre.'), [
      { label: 'Bloquear noches', onClick: () => { blockDialog(acc, n.date, addDays(n.date, 1), refresh); return false; } },
    ]);
  } else if (n.state === 'block') {
    showDialog(title, h('dl', { class: 'details' },
      h('dt', {}, 'Estado'), h('dd', {}, 'Bloqueada'),
      h('dt', {}, 'Desde'), h('dd', {}, fmtDate(n.start)),
      h('dt', {}, 'Hasta'), h('dd', {}, fmtDate(n.end)),
      h('dt', {}, 'Motivo'), h('dd', {}, n.reason || '—'),
      h('dt', {}, 'Origen'), h('dd', {}, n.source === 'manual' ? 'manual' : n.source)), [
      { label: 'Eliminar bloqueo', kind: 'danger', onClick: () => deleteBlock(acc.id, n.block_id, refresh) },
    ]);
  } else if (n.state === 'conflict') {
    showDialog(title, [h('p', { class: 'error' }, 'Conflicto: más de una ocupación en esta noche.'),
      h('ul', {}, n.entries.map((e) => h('li', {}, e.kind === 'block'
        ? `Bloqueo ${fmtDate(e.start)}–${fmtDate(e.end)} (${e.source}${e.reason ? `: ${e.reason}` : ''})`
        : `${NIGHT_LABELS[e.kind]} ${e.code} de ${e.guest_name}, ${fmtDate(e.check_in)}–${fmtDate(e.check_out)}`)))]);
  } else {
    showReservation(n.code, refresh).catch((e) => toast(errorText(e), 'error'));
  }
}

async function viewCalendar(root) {
  if (!state.month) state.month = todayInTz().slice(0, 7);
  const accs = await accommodations();
  const q = qs({ month: state.month, accommodation_id: state.calendarAccommodation });
  const cal = await api('GET', `/api/v1/admin/calendar${q}`);
  const refresh = () => render();
  const select = field('Alojamiento', { name: 'accommodation', value: state.calendarAccommodation }, 'select',
    [['', 'Todos'], ...accs.map((a) => [String(a.id), a.name])]);
  select.input.addEventListener('change', () => { state.calendarAccommodation = select.input.value; render(); });
  const nav = h('div', { class: 'month-nav' },
    h('button', { type: 'button', class: 'secondary icon', 'aria-label': 'Mes anterior', title: 'Mes anterior', on: { click: () => { state.month = addMonths(state.month, -1); render(); } } }, '‹'),
    h('h2', { class: 'month-title', 'aria-live': 'polite' }, capitalize(fmtMonth(cal.month))),
    h('button', { type: 'button', class: 'secondary icon', 'aria-label': 'Mes siguiente', title: 'Mes siguiente', on: { click: () => { state.month = addMonths(state.month, 1); render(); } } }, '›'),
    h('button', { type: 'button', class: 'secondary', on: { click: () => { state.month = todayInTz().slice(0, 7); render(); } } }, 'Hoy'));
  const days = [];
  for (let i = 0; i < cal.nights; i++) days.push(addDays(cal.from, i));
  const head = h('tr', {}, h('th', { scope: 'col', class: 'acc-col' }, 'Alojamiento'),
    days.map((d) => {
      const wd = weekday(d);
      return h('th', { scope: 'col', class: `day${wd === 0 || wd === 6 ? ' weekend' : ''}${d === cal.today ? ' today' : ''}`, abbr: fmtDate(d) },
        h('span', { class: 'dnum' }, String(Number(d.slice(8)))), h('span', { class: 'dwk' }, WEEKDAYS_SHORT[wd]));
    }));
  const rows = cal.accommodations.map((a) => h('tr', { dataset: { accommodation: a.id } },
    h('th', { scope: 'row', class: 'acc-col' }, a.name, a.active ? null : h('span', { class: 'muted small' }, ' (inactivo)')),
    a.nights.map((n) => h('td', {}, h('button', {
      type: 'button', class: `night night-${n.state}${n.date === cal.today ? ' today' : ''}`,
      'aria-label': nightLabel(a, n), title: nightLabel(a, n), dataset: { date: n.date, state: n.state },
      on: { click: () => nightDialog(a, n, refresh) },
    }, NIGHT_MARK[n.state] || '')))));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Referencias' },
    ['free', 'hold', 'confirmed', 'block', 'conflict'].map((s) => h('li', {},
      h('span', { class: `swatch night-${s}`, 'aria-hidden': 'true' }, NIGHT_MARK[s]), NIGHT_LABELS[s])));
  fill(root, 
    heading('Calendario'),
    h('div', { class: 'toolbar' }, nav, select.wrap),
    legend,
    h('div', { class: 'grid-scroll', tabindex: '0', 'aria-label': `Calendario de ${fmtMonth(cal.month)}` },
      h('table', { class: 'calendar' }, h('caption', { class: 'sr-only' }, `Noches de ${fmtMonth(cal.month)} por alojamiento`),
        h('thead', {}, head), h('tbody', {}, rows))),
    cal.accommodations.length ? null : h('p', { class: 'muted' }, 'Todavía no hay alojamientos.'));
}

// --- reservations --------------------------------------------------------------------------------------

function filterQuery(withPaging) {
  const f = state.filter;
  const p = { status: f.status, accommodation_id: f.accommodation_id, from: f.from, to: f.to, q: f.q };
  if (withPaging) Object.assign(p, { limit: state.pageSize, offset: state.page * state.pageSize });
  return qs(p);
}

async function exportCsv() {
  const res = await api('GET', `/api/v1/admin/reservations.csv${filterQuery(false)}`, undefined, { raw: true });
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]+)"/.exec(disposition);
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: m ? m[1] : 'reservas.csv', class: 'sr-only' }, 'descargar');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast('Exportación lista.');
}

async function viewReservations(root, params) {
  if (params.has('q')) {
    state.filter = { status: '', accommodation_id: '', from: '', to: '', q: params.get('q') };
    state.page = 0;
  }
  const accs = await accommodations();
  const f = state.filter;
  const status = field('Estado', { name: 'status', value: f.status }, 'select',
    [['', 'Todos'], ...Object.entries(STATUS_LABELS)]);
  const acc = field('Alojamiento', { name: 'accommodation_id', value: f.accommodation_id }, 'select',
    [['', 'Todos'], ...accs.map((a) => [String(a.id), a.name])]);
  const from = field('Desde', { name: 'from', placeholder: 'dd/mm/aaaa', inputmode: 'numeric', value: fmtDate(f.from) });
  const to = field('Hasta', { name: 'to', placeholder: 'dd/mm/aaaa', inputmode: 'numeric', value: fmtDate(f.to) });
  const q = field('Buscar', { name: 'q', type: 'search', maxlength: 100, value: f.q, placeholder: 'código, nombre, teléfono, email' });
  q.wrap.classList.add('field-search');
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'filters', role: 'search' }, status.wrap, acc.wrap, from.wrap, to.wrap, q.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Filtrar'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => { state.filter = { status: '', accommodation_id: '', from: '', to: '', q: '' }; state.page = 0; go('#/reservas'); } } }, 'Limpiar'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => exportCsv().catch((e) => toast(errorText(e), 'error')) } }, 'Exportar CSV')),
    err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const df = from.input.value.trim() ? parseDate(from.input.value) : '';
    const dt = to.input.value.trim() ? parseDate(to.input.value) : '';
    if (df === null || dt === null) {
      err.textContent = 'Escribí las fechas como dd/mm/aaaa.';
      return;
    }
    state.filter = { status: status.input.value, accommodation_id: acc.input.value, from: df, to: dt, q: q.input.value.trim() };
    state.page = 0;
    go('#/reservas');
  });
  const list = await api('GET', `/api/v1/admin/reservations${filterQuery(true)}`);
  const refresh = () => render();
  const rows = list.items.map((r) => h('tr', { dataset: { code: r.code } },
    td('Código', {}, h('button', { type: 'button', class: 'link', on: { click: () => showReservation(r.code, refresh).catch((e) => toast(errorText(e), 'error')) } }, r.code)),
    td('Huésped', {}, r.guest_name, h('br'), h('span', { class: 'muted small' }, r.guest_phone)),
    td('Alojamiento', {}, r.accommodation_name),
    td('Entrada', {}, fmtDate(r.check_in)),
    td('Salida', {}, fmtDate(r.check_out)),
    td('Total', { class: 'num' }, fmtMoney(r.total_price, r.currency)),
    td('Seña', { class: 'num' }, fmtMoney(r.deposit_amount, r.currency)),
    td('Estado', {}, statusBadge(r.status),
      r.status === 'pre_reserved' && r.expires_at ? h('span', { class: 'muted small' }, ` vence ${fmtDateTime(r.expires_at, state.tz)}`) : null),
    h('td', { 'data-label': 'Acciones', class: 'row-actions' },
      (r.status === 'pre_reserved' || r.status === 'expired')
        ? h('button', { type: 'button', class: 'primary small', on: { click: () => confirmDialog(r, refresh) } }, 'Confirmar pago') : null,
      (r.status === 'pre_reserved' || r.status === 'confirmed')
        ? h('button', { type: 'button', class: 'danger small', on: { click: () => cancelDialog(r, refresh) } }, 'Cancelar') : null)));
  const first = list.total ? list.offset + 1 : 0;
  const last = list.offset + list.items.length;
  const pager = h('nav', { class: 'pager', 'aria-label': 'Páginas' },
    h('button', { type: 'button', class: 'secondary', disabled: state.page === 0, on: { click: () => { state.page--; render(); } } }, '‹ Anterior'),
    h('span', { 'aria-live': 'polite' }, `${first}–${last} de ${list.total}`),
    h('button', { type: 'button', class: 'secondary', disabled: last >= list.total, on: { click: () => { state.page++; render(); } } }, 'Siguiente ›'));
  fill(root, 
    heading('Reservas'),
    form,
    list.items.length ? h('div', { class: 'table-scroll' }, h('table', { class: 'list reservations' },
      h('thead', {}, h('tr', {}, ['Código', 'Huésped', 'Alojamiento', 'Entrada', 'Salida', 'Total', 'Seña', 'Estado', 'Acciones']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))) : h('p', { class: 'muted' }, 'No hay reservas con esos filtros.'),
    pager);
}

// --- accommodations ------------------------------------------------------------------------------------

const TYPES = [['cabin', 'Cabaña'], ['apartment', 'Departamento'], ['house', 'Casa'], ['room', 'Habitación']];

async function viewAccommodations(root) {
  const accs = await accommodations();
  fill(root, 
    heading('Alojamientos', h('a', { class: 'button primary', href: '#/alojamientos/nuevo' }, 'Nuevo alojamiento')),
    accs.length ? h('ul', { class: 'acc-list' }, accs.map((a) => h('li', { class: 'card' },
      h('h2', {}, a.name, a.active ? null : h('span', { class: 'badge status-cancelled' }, 'Inactivo')),
      h('p', {}, `${fmtMoney(a.base_price, a.currency)} por noche · fin de semana ×${fmtMultiplier(a.weekend_multiplier)} · hasta ${a.capacity} personas · ${a.min_nights}–${a.max_nights} noches`),
      h('a', { class: 'button secondary', href: `#/alojamientos/${a.id}` }, `Editar ${a.name}`)))) : h('p', { class: 'muted' }, 'Todavía no hay alojamientos.'));
}

function accommodationForm(a, onSaved) {
  const creating = !a.id;
  const name = field('Nombre', { name: 'name', required: true, maxlength: 120, value: a.name || '' });
  const type = field('Tipo', { name: 'type', value: a.type || 'cabin' }, 'select', TYPES);
  const capacity = field('Capacidad (personas)', { name: 'capacity', type: 'number', min: 1, max: 100, required: true, value: a.capacity ?? 2 });
  const price = field('Precio base por noche', { name: 'base_price', inputmode: 'decimal', required: true, value: a.base_price ? fmtMoney(a.base_price).replace('$ ', '') : '', 'data-hint': 'Por ejemplo 43.200,00' });
  const mult = field('Multiplicador de fin de semana', { name: 'weekend_multiplier', inputmode: 'decimal', value: fmtMultiplier(a.weekend_multiplier || '1.20'), 'data-hint': '1,20 = 20 % más caro esas noches' });
  const nights = (a.weekend_nights ?? 'fri,sat').split(',').filter(Boolean);
  const days = WEEKDAY_KEYS.map((k, i) => checkbox(WEEKDAYS[i], { name: `wk-${k}`, checked: nights.includes(k) }));
  const minN = field('Mínimo de noches', { name: 'min_nights', type: 'number', min: 1, max: 365, value: a.min_nights ?? 1 });
  const maxN = field('Máximo de noches', { name: 'max_nights', type: 'number', min: 1, max: 365, value: a.max_nights ?? 30 });
  const active = checkbox('Activo (se puede reservar)', { name: 'active', checked: a.active ?? true });
  const desc = field('Descripción', { name: 'description', maxlength: 2000, value: a.description || '' }, 'textarea');
  const err = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, creating ? 'Crear alojamiento' : 'Guardar cambios');
  const form = h('form', { class: 'form acc-form', novalidate: true },
    name.wrap, type.wrap, capacity.wrap, price.wrap, mult.wrap,
    h('fieldset', { class: 'weekdays' }, h('legend', {}, 'Noches de fin de semana'), days.map((d) => d.wrap)),
    minN.wrap, maxN.wrap, active.wrap, desc.wrap, err, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const base = parseMoney(price.input.value);
    const m = parseMultiplier(mult.input.value);
    if (!name.input.value.trim()) { err.textContent = 'Escribí el nombre.'; return; }
    if (!base) { err.textContent = 'Escribí el precio como 43.200,00.'; return; }
    if (!m) { err.textContent = 'El multiplicador va de 0,01 a 10, por ejemplo 1,20.'; return; }
    const body = {
      name: name.input.value.trim(), type: type.input.value, capacity: Number(capacity.input.value),
      base_price: base, weekend_multiplier: m,
      weekend_nights: WEEKDAY_KEYS.filter((k, i) => days[i].input.checked).join(','),
      min_nights: Number(minN.input.value), max_nights: Number(maxN.input.value),
      active: active.input.checked, description: desc.input.value,
    };
    submit.disabled = true;
    try {
      const saved = creating ? await api('POST', '/api/v1/admin/accommodations', body)
        : await api('PATCH', `/api/v1/admin/accommodations/${a.id}`, body);
      toast(creating ? `Alojamiento ${saved.name} creado.` : 'Cambios guardados.');
      onSaved(saved);
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function copyRow(label, url) {
  const input = h('input', { type: 'text', readonly: true, value: url, class: 'copy-input', 'aria-label': label });
  return h('div', { class: 'copy-row' }, h('span', { class: 'copy-label' }, label), input,
    h('button', { type: 'button', class: 'secondary small', on: { click: () => copyText(url, input) } }, 'Copiar'));
}

async function icalSection(a, refresh) {
  const section = h('section', { class: 'card ical' }, h('h2', {}, 'Calendarios iCal'));
  if (a.ical_export_url) {
    section.append(h('p', {}, 'Pegá esta URL en Airbnb, Booking.com o tu calendario para que vean las noches ocupadas:'),
      copyRow('URL de exportación', a.ical_export_url));
  }
  let feeds = null;
  try {
    feeds = await optional('GET', `/api/v1/admin/accommodations/${a.id}/ical-feeds`);
  } catch (e) {
    section.append(failure(e));
    return section;
  }
  if (feeds === null) {
    if (!a.ical_export_url) return null; // this server has no calendar sync
    return section;
  }
  const items = Array.isArray(feeds) ? feeds : feeds.items || [];
  section.append(h('h3', {}, 'Calendarios importados'), items.length ? h('ul', { class: 'feeds' }, items.map((f) => h('li', {},
    h('p', {}, h('strong', {}, f.name || f.url), ' ', h('span', { class: `badge feed-${f.last_status || 'pending'}` }, f.last_status || 'pendiente')),
    h('p', { class: 'muted small' }, `Última sincronización correcta: ${f.last_success_at ? fmtDateTime(f.last_success_at, state.tz) : 'nunca'} · eventos: ${f.event_count ?? '—'} · conflictos: ${f.conflicts ?? 0}`),
    f.last_error ? h('p', { class: 'error small' }, f.last_error) : null,
    f.export_url ? copyRow(`URL para ${f.name || 'este sitio'}`, f.export_url) : null,
    h('button', {
      type: 'button', class: 'secondary small',
      on: { click: async () => { try { await api('POST', `/api/v1/admin/accommodations/${a.id}/ical-feeds/${f.id}/sync`); toast('Sincronizado.'); refresh(); } catch (e) { toast(errorText(e), 'error'); } } },
    }, 'Sincronizar ahora')))) : h('p', { class: 'muted' }, 'Ningún calendario importado.'));
  const fname = field('Nombre', { name: 'feed-name', maxlength: 100, placeholder: 'Airbnb' });
  const furl = field('URL del calendario (.ics)', { name: 'feed-url', type: 'url', maxlength: 1000 });
  const ferr = h('p', { class: 'error', role: 'alert' });
  const fform = h('form', { class: 'form inline' }, fname.wrap, furl.wrap, ferr,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Agregar calendario')));
  fform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', `/api/v1/admin/accommodations/${a.id}/ical-feeds`, { name: fname.input.value.trim(), url: furl.input.value.trim() });
      toast('Calendario agregado.');
      refresh();
    } catch (e) { ferr.textContent = errorText(e); }
  });
  section.append(fform);
  return section;
}

async function blocksSection(a, refresh) {
  const r = await api('GET', `/api/v1/admin/accommodations/${a.id}/blocks`);
  const today = todayInTz();
  const items = r.items.filter((b) => b.end > today);
  return h('section', { class: 'card blocks' }, h('h2', {}, 'Bloqueos'),
    items.length ? h('div', { class: 'table-scroll' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Desde', 'Hasta', 'Motivo', 'Origen', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((b) => h('tr', {},
        td('Desde', {}, fmtDate(b.start)),
        td('Hasta', {}, fmtDate(b.end)),
        td('Motivo', {}, b.reason || '—'),
        td('Origen', {}, b.source),
        h('td', { class: 'row-actions' }, h('button', {
          type: 'button', class: 'danger small', 'aria-label': `Eliminar el bloqueo del ${fmtDate(b.start)} al ${fmtDate(b.end)}`,
          on: { click: () => deleteBlock(a.id, b.id, refresh).catch((e) => toast(errorText(e), 'error')) },
        }, 'Eliminar'))))))) : h('p', { class: 'muted' }, 'Sin bloqueos próximos.'),
    h('button', { type: 'button', class: 'secondary', on: { click: () => blockDialog(a, '', '', refresh) } }, 'Bloquear noches'));
}

async function viewAccommodation(root, id) {
  if (id === 'nuevo') {
    fill(root, heading('Nuevo alojamiento', h('a', { href: '#/alojamientos' }, '‹ Volver')),
      h('section', { class: 'card' }, accommodationForm({}, (saved) => go(`#/alojamientos/${saved.id}`))));
    return;
  }
  const a = await api('GET', `/api/v1/admin/accommodations/${encodeURIComponent(id)}`);
  const refresh = () => render();
  const [blocks, ical] = await Promise.all([blocksSection(a, refresh), icalSection(a, refresh)]);
  fill(root, 
    heading(a.name, h('a', { href: '#/alojamientos' }, '‹ Volver')),
    h('section', { class: 'card' }, h('h2', {}, 'Datos y precios'), accommodationForm(a, refresh)),
    blocks, ical);
}

// --- messages ------------------------------------------------------------------------------------------

async function viewMessages(root) {
  const r = await optional('GET', '/api/v1/admin/outbox?status=dead');
  if (r === null) {
    const s = await api('GET', '/api/v1/admin/dashboard/stats');
    fill(root, heading('Mensajes sin entregar'),
      h('p', {}, `Mensajes fallidos: ${s.outbox.dead}.`),
      h('p', { class: 'muted' }, 'Este servidor todavía no permite ver ni reintentar los mensajes desde aquí.'));
    return;
  }
  const items = Array.isArray(r) ? r : r.items || [];
  const refresh = () => render();
  fill(root, heading('Mensajes sin entregar'),
    items.length ? h('ul', { class: 'messages' }, items.map((m) => h('li', { class: 'card' },
      h('p', {}, h('strong', {}, `${m.channel} · ${m.template}`), ` a ${m.recipient === 'owner' ? 'vos' : m.recipient || '—'}`),
      h('p', { class: 'muted small' }, `${m.reservation_code ? `Reserva ${m.reservation_code} · ` : ''}${m.attempts ?? 0} intentos${m.updated_at ? ` · último ${fmtDateTime(m.updated_at, state.tz)}` : ''}`),
      m.last_error ? h('p', { class: 'error small' }, m.last_error) : null,
      h('button', {
        type: 'button', class: 'primary small',
        on: { click: async () => { try { await api('POST', `/api/v1/admin/outbox/${m.id}/retry`); toast('Se reintentará enseguida.'); refresh(); } catch (e) { toast(errorText(e), 'error'); } } },
      }, 'Reintentar')))) : h('p', { class: 'muted' }, 'No hay mensajes fallidos.'));
}

// --- audit trail ---------------------------------------------------------------------------------------

const ACTIONS = {
  'reservation.hold_created': 'Pre-reserva creada',
  'reservation.booking_confirmed': 'Reserva confirmada',
  'reservation.booking_cancelled': 'Reserva cancelada',
  'reservation.hold_expired': 'Pre-reserva vencida',
  'accommodation.created': 'Alojamiento creado',
  'accommodation.updated': 'Alojamiento modificado',
  'accommodation.deactivated': 'Alojamiento desactivado',
  'block.created': 'Bloqueo creado',
  'block.deleted': 'Bloqueo eliminado',
  'outbox.retried': 'Mensaje reintentado',
};

const ENTITIES = { reservation: 'Reserva', accommodation: 'Alojamiento', block: 'Bloqueo', feed: 'Calendario', payment: 'Pago', outbox: 'Mensaje' };

function actorText(actor) {
  if (actor.startsWith('admin:')) return actor.slice(6);
  return { api: 'web / API', 'job:expiry': 'vencimiento automático', 'webhook:mercadopago': 'MercadoPago', 'bot:whatsapp': 'WhatsApp', 'cli:seed': 'datos de ejemplo' }[actor] || actor;
}

async function viewAudit(root) {
  const list = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary' }, 'Ver más');
  let before = 0;
  const load = async () => {
    const r = await api('GET', `/api/v1/admin/audit${qs({ limit: 50, before: before || '' })}`);
    for (const e of r.items) {
      list.append(h('tr', {},
        td('Cuándo', {}, fmtDateTime(e.at, state.tz)),
        td('Quién', {}, actorText(e.actor)),
        td('Qué', {}, ACTIONS[e.action] || e.action),
        td('Sobre', {}, `${ENTITIES[e.entity] || e.entity} ${e.entity_id}`)));
    }
    before = r.next_before;
    more.hidden = !before;
  };
  more.addEventListener('click', () => load().catch((e) => toast(errorText(e), 'error')));
  await load();
  fill(root, heading('Historial de cambios'),
    h('div', { class: 'table-scroll' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Cuándo', 'Quién', 'Qué', 'Sobre'].map((t) => h('th', { scope: 'col' }, t)))), list)),
    more);
}

// --- router --------------------------------------------------------------------------------------------

const VIEWS = {
  panel: viewDashboard,
  calendario: viewCalendar,
  reservas: viewReservations,
  alojamientos: viewAccommodations,
  mensajes: viewMessages,
  historial: viewAudit,
};

async function render() {
  const seq = ++renderSeq;
  const root = main();
  const s = session();
  if (!s) {
    viewLogin(root);
    return;
  }
  document.getElementById('topbar').hidden = false;
  document.getElementById('who').textContent = s.email;
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'panel').split('?');
  const [name, arg] = path.split('/');
  const view = VIEWS[name] ? VIEWS[name] : VIEWS.panel;
  for (const a of document.querySelectorAll('#topbar nav a')) {
    if (a.getAttribute('href') === `#/${VIEWS[name] ? name : 'panel'}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!root.firstChild || root.dataset.view !== name) fill(root, loading());
  root.dataset.view = name;
  try {
    const content = h('div');
    if (name === 'alojamientos' && arg) await viewAccommodation(content, arg);
    else await view(content, new URLSearchParams(query || ''));
    if (seq !== renderSeq) return; // a newer render started meanwhile
    fill(root, ...content.childNodes);
    root.setAttribute('aria-busy', 'false');
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return; // back at the login
    fill(root, failure(e));
  }
}

function start() {
  setupDialog();
  setUnauthorizedHandler(() => {
    closeDialog();
    viewLogin(main(), 'La sesión expiró: ingresá de nuevo.');
  });
  document.getElementById('logout').addEventListener('click', () => {
    logout();
    closeDialog();
    location.hash = '#/ingresar';
    viewLogin(main());
  });
  window.addEventListener('hashchange', async () => {
    closeDialog();
    await render();
    // a new screen: move the focus to its title, as a page load would
    const h1 = main().querySelector('h1');
    if (h1 && !main().contains(document.activeElement)) h1.focus();
  });
  render();
}

start();
