// format.test.mjs - the admin page's date and amount formats (web/admin/format.js), under Node.
// Run: node tests/e2e/format.test.mjs (tests/integration/test_admin_e2e.py runs it). Prints "format: ok".
import assert from 'node:assert/strict';
import {
  addDays, addMonths, fmtDate, fmtDateTime, fmtMoney, fmtMonth, fmtMultiplier, fmtPercent, parseDate, parseMoney,
  parseMultiplier, weekday,
} from '../../web/admin/format.js';

assert.equal(fmtDate('2026-12-05'), '05/12/2026');
assert.equal(fmtDate(''), '');
assert.equal(fmtDate(null), '');
assert.equal(fmtDate('junk'), 'junk');

assert.equal(parseDate('05/12/2026'), '2026-12-05');
assert.equal(parseDate(' 5/1/2027 '), '2027-01-05');
assert.equal(parseDate('29/02/2028'), '2028-02-29');
for (const bad of ['29/02/2027', '31/04/2027', '00/01/2027', '01/13/2027', '1/1/27', '2027-01-01', '', 'a/b/c', '32/01/2027']) {
  assert.equal(parseDate(bad), null, bad);
}

// Buenos Aires is UTC-3 all year
assert.equal(fmtDateTime('2026-12-01T23:24:14Z'), '01/12/2026 20:24');
assert.equal(fmtDateTime('2027-01-01T02:59:00Z'), '31/12/2026 23:59');
assert.equal(fmtDateTime('2027-01-01T12:00:00Z', 'UTC'), '01/01/2027 12:00');
assert.equal(fmtDateTime(null), '');

assert.equal(fmtMoney('43200.00'), '$ 43.200,00');
assert.equal(fmtMoney('0.00'), '$ 0,00');
assert.equal(fmtMoney('999.5'), '$ 999,50');
assert.equal(fmtMoney('1234567.89'), '$ 1.234.567,89');
assert.equal(fmtMoney('100000000000.00'), '$ 100.000.000.000,00');
assert.equal(fmtMoney('1250.50', 'USD'), 'USD 1.250,50');
assert.equal(fmtMoney('12', 'ARS'), '$ 12,00');

assert.equal(parseMoney('43.200,00'), '43200.00');
assert.equal(parseMoney('$ 43.200'), '43200.00');
assert.equal(parseMoney('43200,5'), '43200.50');
assert.equal(parseMoney('43200.50'), '43200.50');
assert.equal(parseMoney('43200'), '43200.00');
assert.equal(parseMoney('1.234.567,89'), '1234567.89');
assert.equal(parseMoney('0'), '0.00');
assert.equal(parseMoney('007'), '7.00');
for (const bad of ['', '12,345', '1.2.3', '-5', 'abc', '1e5', '43.200,001', '12,3,4']) {
  assert.equal(parseMoney(bad), null, bad);
}
assert.equal(parseMoney(fmtMoney('25920.00').replace('$ ', '')), '25920.00'); // what the page proposes

assert.equal(parseMultiplier('1,2'), '1.20');
assert.equal(parseMultiplier('1.25'), '1.25');
assert.equal(parseMultiplier('1'), '1.00');
assert.equal(parseMultiplier('1,0005'), '1.0005');
assert.equal(parseMultiplier('10'), '10.00');
for (const bad of ['0', '10,01', '1,00001', '', 'x', '-1']) assert.equal(parseMultiplier(bad), null, bad);
assert.equal(fmtMultiplier('1.20'), '1,20');

assert.equal(fmtPercent(0.125), '12,5 %');
assert.equal(fmtPercent(4 / 28), '14,3 %');
assert.equal(fmtPercent(0), '0,0 %');
assert.equal(fmtPercent(1), '100,0 %');
assert.equal(fmtPercent(null), '—');

assert.equal(fmtMonth('2026-12'), 'diciembre de 2026');
assert.equal(addMonths('2026-12', 1), '2027-01');
assert.equal(addMonths('2027-01', -1), '2026-12');
assert.equal(addMonths('2027-03', -14), '2026-01');
assert.equal(addDays('2026-12-31', 1), '2027-01-01');
assert.equal(addDays('2028-03-01', -1), '2028-02-29');
assert.equal(weekday('2026-12-06'), 0); // a Sunday
assert.equal(weekday('2027-01-01'), 5); // a Friday

console.log('format: ok');
