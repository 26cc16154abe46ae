// admin_flow.mjs - the owner's day on the admin page, in a real headless Chromium (Debian's, driven by
// playwright-core; no browser download): log in, create an accommodation, see a hold made through the
// public API in the calendar, confirm its payment from the reservations table, cancel another with a
// reason, see its nights free again, block a night from the calendar, export the CSV, and save screenshots
// of the dashboard and the calendar at desktop (1280 px) and phone (360 px) widths.
//
// Run by tests/integration/test_admin_e2e.py, which starts the server. Environment:
//   BASE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, TODAY (the server's date, YYYY-MM-DD), CHROMIUM (executable),
//   ARTIFACTS (directory for screenshots), NO_SANDBOX=1 when running as root.
// Prints one line per step; exits 0 when every check passed, 1 with the reason otherwise.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env('BASE_URL');
const EMAIL = env('ADMIN_EMAIL');
const PASSWORD = env('ADMIN_PASSWORD');
const TODAY = env('TODAY');
const ARTIFACTS = env('ARTIFACTS');
const STEP_TIMEOUT = 15000;

const addDays = (iso, n) => {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
};
const fmt = (iso) => `${iso.slice(8)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
// "25920.00" -> "25.920,00", as the page writes an amount into a field
const moneyField = (s) => {
  const [w, c] = s.split('.');
  return `${w.replace(/\B(?=(\d{3})+(?!\d))/g, '.')},${c}`;
};

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function step(text) {
  console.log(`step: ${text}`);
}

async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// What the page is allowed to see go wrong: only the routes of features this server may not have.
const OPTIONAL_404 = [/\/ical-feeds$/, /\/api\/v1\/admin\/outbox\?status=dead$/];

function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`CSP: ${t}`);
    // failed requests are judged below, with their URL
    else if (m.type() === 'error' && !/^Failed to load resource:/.test(t)) problems.push(`console error: ${t}`);
  });
  page.on('response', (r) => {
    const u = r.url();
    const expected = (r.status() === 404 && OPTIONAL_404.some((re) => re.test(u)))
      || (r.status() === 401 && u.endsWith('/api/v1/admin/login')); // the wrong password, on purpose
    if (r.status() >= 400 && !expected) {
      problems.push(`HTTP ${r.status()} for ${r.request().method()} ${u}`);
    }
  });
}

async function login(page) {
  await page.goto(`${BASE}/admin/`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Contraseña').fill(PASSWORD);
  await page.getByRole('button', { name: 'Ingresar' }).click();
  await page.locator('[data-card="occupancy"]').waitFor();
}

// Opens the calendar on the month holding `date`.
async function calendarAt(page, date) {
  await page.getByRole('link', { name: 'Calendario' }).click();
  await page.locator('table.calendar').waitFor();
  await page.getByRole('button', { name: 'Hoy' }).click(); // every date asked for is today or later
  await page.locator(`button.night[data-date="${TODAY}"]`).first().waitFor();
  for (let i = 0; i < 24; i++) {
    if (await page.locator(`button.night[data-date="${date}"]`).count()) return;
    await page.getByRole('button', { name: 'Mes siguiente' }).click();
    await page.waitForTimeout(150);
  }
  throw new Error(`the calendar never showed ${date}`);
}

function night(page, acc, date) {
  return page.locator(`tr[data-accommodation="${acc}"] button.night[data-date="${date}"]`);
}

// The status line of the last action would hide part of a screenshot.
async function shot(page, name) {
  await page.evaluate(() => document.getElementById('toast').replaceChildren());
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

async function noHorizontalScroll(page, what) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(w[0] <= w[1], `${what}: the page is ${w[0]} px wide in a ${w[1]} px window`);
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    chromiumSandbox: process.env.NO_SANDBOX !== '1',
    args: ['--disable-gpu', '--disable-dev-shm-usage', '--lang=es-AR'],
    timeout: 30000,
  });
  const problems = [];
  try {
    // ---------------------------------------------------------------- desktop
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'es-AR', acceptDownloads: true });
    ctx.setDefaultTimeout(STEP_TIMEOUT);
    const page = await ctx.newPage();
    watch(page, problems);

    step('login');
    await page.goto(`${BASE}/admin`);
    const bad = page.getByLabel('Contraseña');
    await page.getByLabel('Email').fill(EMAIL);
    await bad.fill('not-the-password');
    await page.keyboard.press('Enter'); // keyboard submit
    await page.getByText('Email o contraseña incorrectos.').waitFor();
    await login(page);
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('cabanas.admin.token'), local: localStorage.length, cookie: document.cookie,
      url: location.href,
    }));
    check(stored.session && stored.session.split('.').length === 3, 'the token is in sessionStorage');
    check(stored.local === 0 && stored.cookie === '', 'nothing in localStorage or cookies');
    check(!stored.url.includes(stored.session), 'the token is not in the URL');
    const token = stored.session;

    step('create an accommodation');
    await page.getByRole('link', { name: 'Alojamientos' }).click();
    await page.getByRole('link', { name: 'Nuevo alojamiento' }).click();
    await page.getByLabel('Nombre').fill('Cabaña del Arroyo');
    await page.getByLabel('Tipo').selectOption('cabin');
    await page.getByLabel('Capacidad (personas)').fill('5');
    await page.getByLabel('Precio base por noche').fill('43.200,00');
    await page.getByLabel('Multiplicador de fin de semana').fill('1,25');
    await page.getByLabel('domingo').check();
    await page.getByLabel('Mínimo de noches').fill('2');
    await page.getByLabel('Máximo de noches').fill('14');
    await page.getByRole('button', { name: 'Crear alojamiento' }).click();
    await page.waitForURL(/#\/alojamientos\/\d+$/);
    const accId = Number(/#\/alojamientos\/(\d+)$/.exec(page.url())[1]);
    const acc = (await api('GET', `/api/v1/admin/accommodations/${accId}`, null, token)).json;
    check(acc.name === 'Cabaña del Arroyo' && acc.base_price === '43200.00' && acc.weekend_multiplier === '1.25'
      && acc.capacity === 5 && acc.min_nights === 2 && acc.max_nights === 14 && acc.active === true
      && acc.weekend_nights === 'sun,fri,sat', `accommodation saved as typed: ${JSON.stringify(acc)}`);
    await page.getByRole('heading', { name: 'Cabaña del Arroyo', level: 1 }).waitFor();

    step('edit its price');
    await page.getByLabel('Precio base por noche').fill('45.000');
    await page.getByRole('button', { name: 'Guardar cambios' }).click();
    await page.getByText('Cambios guardados.').waitFor();
    const edited = (await api('GET', `/api/v1/admin/accommodations/${accId}`, null, token)).json;
    check(edited.base_price === '45000.00' && edited.weekend_multiplier === '1.25', `price saved: ${edited.base_price}`);

    step('two holds through the public API');
    const h1In = addDays(TODAY, 3), h1Out = addDays(TODAY, 5);
    const h2In = addDays(TODAY, 8), h2Out = addDays(TODAY, 10);
    const hold = async (i, o, name) => {
      const r = await api('POST', '/api/v1/reservations', {
        accommodation_id: accId, check_in: i, check_out: o, guests: 2, guest_name: name,
        guest_phone: '+54 9 294 455-1234', guest_email: 'huesped@example.com',
      });
      check(r.status === 201, `hold created: ${JSON.stringify(r.json)}`);
      return r.json;
    };
    const h1 = await hold(h1In, h1Out, 'Lucía Fernández');
    const h2 = await hold(h2In, h2Out, 'Martín Ruiz <b>');

    step('the hold in the calendar');
    await calendarAt(page, h1In);
    const cell = night(page, accId, h1In);
    check(await cell.getAttribute('data-state') === 'hold', 'the first night of the hold is a hold');
    check((await cell.getAttribute('aria-label')).includes(h1.code), 'the cell names the reservation');
    check(await night(page, accId, addDays(h1In, 1)).getAttribute('data-state') === 'hold', 'second night held');
    check(await night(page, accId, h1Out).getAttribute('data-state') === 'free', 'the check-out night is free');
    // keyboard: focus the night, Enter opens the stay, Escape closes it and gives the focus back
    await cell.focus();
    await page.keyboard.press('Enter');
    const dlg = page.locator('dialog[open]');
    await dlg.getByRole('heading', { name: `Reserva ${h1.code}` }).waitFor();
    await dlg.getByText('Lucía Fernández').waitFor();
    await dlg.getByText(`${fmt(h1In)}`).first().waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    check(await cell.evaluate((el) => el === document.activeElement), 'focus is back on the night');

    step('confirm the payment from the table');
    await page.getByRole('link', { name: 'Reservas' }).click();
    await page.getByLabel('Buscar').fill(h1.code);
    await page.getByRole('button', { name: 'Filtrar' }).click();
    const row1 = page.locator(`tr[data-code="${h1.code}"]`);
    await row1.waitFor();
    // the unfiltered list (both holds) may still be on screen until the filtered answer replaces it
    await page.waitForFunction(() => document.querySelectorAll('table.reservations tbody tr').length === 1,
      null, { timeout: STEP_TIMEOUT }).catch(() => {});
    check(await page.locator('table.reservations tbody tr').count() === 1, 'the search finds one row');
    await row1.getByRole('button', { name: 'Confirmar pago' }).click();
    const amount = page.getByLabel('Monto cobrado');
    check((await amount.inputValue()) === moneyField(h1.deposit_amount),
      `the deposit is proposed (${await amount.inputValue()} for ${h1.deposit_amount})`);
    await page.locator('dialog[open]').getByRole('button', { name: 'Confirmar pago' }).click();
    await page.getByText(`Reserva ${h1.code} confirmada.`).waitFor();
    await row1.getByText('Confirmada').waitFor();
    const c1 = (await api('GET', `/api/v1/admin/reservations/${h1.code}`, null, token)).json;
    check(c1.status === 'confirmed' && c1.payment_status === 'paid' && c1.paid_amount === h1.deposit_amount,
      `confirmed with the deposit paid: ${JSON.stringify(c1)}`);

    step('cancel another with a reason');
    await page.getByLabel('Buscar').fill(h2.code);
    await page.getByRole('button', { name: 'Filtrar' }).click();
    const row2 = page.locator(`tr[data-code="${h2.code}"]`);
    await row2.waitFor();
    check((await row2.textContent()).includes('Martín Ruiz <b>'), 'a name with markup is shown as text');
    await row2.getByRole('button', { name: 'Cancelar' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancelar reserva' }).click();
    await page.getByText('Escribí el motivo.').waitFor(); // a reason is required
    await page.getByLabel('Motivo de la cancelación').fill('Pidió cambiar de fecha');
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancelar reserva' }).click();
    await page.getByText(`Reserva ${h2.code} cancelada.`).waitFor();
    await row2.getByText('Cancelada').waitFor();
    const c2 = (await api('GET', `/api/v1/admin/reservations/${h2.code}`, null, token)).json;
    check(c2.status === 'cancelled' && c2.cancel_reason === 'Pidió cambiar de fecha', `cancelled: ${JSON.stringify(c2)}`);

    step('export the CSV');
    await page.getByRole('button', { name: 'Limpiar' }).click();
    await page.locator('table.reservations').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'),
      page.getByRole('button', { name: 'Exportar CSV' }).click()]);
    check(/^reservas-\d{4}-\d\d-\d\d\.csv$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
    const csv = readFileSync(await download.path(), 'utf8');
    check(csv.startsWith('code,status,payment_status,'), 'the CSV has its header');
    check(csv.includes(h1.code) && csv.includes(h2.code), 'the CSV has both reservations');

    step('the cancelled nights are free again; block one from the calendar');
    await calendarAt(page, h2In);
    check(await night(page, accId, h2In).getAttribute('data-state') === 'free', 'cancelled nights free (1)');
    check(await night(page, accId, addDays(h2In, 1)).getAttribute('data-state') === 'free', 'cancelled nights free (2)');
    await calendarAt(page, h1In);
    check(await night(page, accId, h1In).getAttribute('data-state') === 'confirmed', 'the paid stay is confirmed');
    const blockNight = addDays(TODAY, 12);
    await calendarAt(page, blockNight);
    await night(page, accId, blockNight).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Bloquear noches' }).click();
    check((await page.getByLabel('Desde (primera noche)').inputValue()) === fmt(blockNight), 'the block starts that night');
    await page.getByLabel('Hasta (primera noche libre)').fill(fmt(addDays(blockNight, 2)));
    await page.getByLabel('Motivo').fill('Mantenimiento del deck');
    await page.locator('dialog[open]').getByRole('button', { name: 'Bloquear' }).click();
    await page.getByText('Noches bloqueadas.').waitFor();
    await page.locator(`tr[data-accommodation="${accId}"] button.night[data-date="${blockNight}"][data-state="block"]`).waitFor();

    step('retry a dead message');
    await page.getByRole('link', { name: 'Mensajes' }).click();
    const msg = page.locator('ul.messages li', { hasText: 'huesped.viejo@example.com' });
    await msg.getByText('smtp: 550 mailbox unavailable').waitFor();
    await msg.getByRole('button', { name: 'Reintentar' }).click();
    await page.getByText('Se reintentará enseguida.').waitFor();
    await page.getByText('No hay mensajes fallidos.').waitFor();
    const dead = (await api('GET', '/api/v1/admin/outbox?status=dead', null, token)).json;
    check(dead.items.length === 0, `no dead message left: ${JSON.stringify(dead)}`);

    step('the audit trail names each change');
    await page.getByRole('link', { name: 'Historial' }).click();
    for (const what of ['Alojamiento creado', 'Alojamiento modificado', 'Reserva confirmada', 'Reserva cancelada',
      'Bloqueo creado', 'Mensaje reintentado']) {
      await page.locator('td', { hasText: what }).first().waitFor();
    }
    check(await page.getByRole('button', { name: 'Ver más' }).isHidden(), 'no more pages of history');

    step('dashboard and calendar screenshots (1280 px)');
    await page.getByRole('link', { name: 'Panel' }).click();
    await page.locator('[data-card="occupancy"]').waitFor();
    const confirmed = Number(await page.locator('[data-stat="confirmed"]').textContent());
    check(confirmed >= 1, 'the dashboard counts the confirmed booking');
    await shot(page, 'admin-dashboard-1280.png');
    await calendarAt(page, TODAY);
    await shot(page, 'admin-calendar-1280.png');
    await ctx.close();

    // ---------------------------------------------------------------- phone
    step('phone (360 px)');
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'es-AR', isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    phone.setDefaultTimeout(STEP_TIMEOUT);
    const p = await phone.newPage();
    watch(p, problems);
    await login(p);
    await noHorizontalScroll(p, 'dashboard');
    await shot(p, 'admin-dashboard-360.png');
    await calendarAt(p, TODAY);
    await noHorizontalScroll(p, 'calendar (the grid scrolls inside its box)');
    await shot(p, 'admin-calendar-360.png');
    await p.getByRole('link', { name: 'Reservas' }).click();
    await p.locator('table.reservations').waitFor();
    await noHorizontalScroll(p, 'reservations');
    await p.getByRole('link', { name: 'Alojamientos' }).click();
    await p.getByRole('link', { name: 'Nuevo alojamiento' }).waitFor();
    await noHorizontalScroll(p, 'accommodations');
    await phone.close();

    check(problems.length === 0, `no page errors, CSP violations or failed requests:\n  ${problems.join('\n  ')}`);
    console.log('e2e: ok');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`e2e: FAILED: ${e.stack || e}`);
  process.exit(1);
});
