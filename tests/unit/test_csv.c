/* test_csv.c - the CSV writer: plain cells, RFC 4180 quoting (comma, quote, CR, LF), formula neutralizing
 * of cells starting with = + - @ TAB CR (also when the cell is quoted), NULL and empty cells, UTF-8 kept
 * byte for byte, rows ending with CRLF, and the buffer limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/csv.h"

/* The cell as written, alone in a fresh buffer. */
static const char *cell(const char *v)
{
    static char out[256];
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(csv_cell(&b, v, 1), 0);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    buf_cleanup(&b);
    return out;
}

static void test_plain_cells(void **state)
{
    assert_string_equal(cell("RES0123456789"), "RES0123456789");
    assert_string_equal(cell("43200.00"), "43200.00");
    assert_string_equal(cell(""), "");
    assert_string_equal(cell(NULL), "");
    assert_string_equal(cell("Cabaña del Bosque"), "Cabaña del Bosque");
    assert_string_equal(cell("a b  c "), "a b  c ");
    assert_string_equal(cell("x=1+2"), "x=1+2"); /* only the first character matters */
}

static void test_quoting(void **state)
{
    assert_string_equal(cell("Gómez, Ana"), "\"Gómez, Ana\"");
    assert_string_equal(cell("say \"hola\""), "\"say \"\"hola\"\"\"");
    assert_string_equal(cell("\""), "\"\"\"\"");
    assert_string_equal(cell("line1\nline2"), "\"line1\nline2\"");
    assert_string_equal(cell("a\r\nb"), "\"a\r\nb\"");
    assert_string_equal(cell("\nx"), "\"\nx\""); /* LF first: quoted, not neutralized */
}

static void test_neutralizing(void **state)
{
    assert_string_equal(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    assert_string_equal(cell("=1+1"), "'=1+1");
    assert_string_equal(cell("+5491155550000"), "'+5491155550000");
    assert_string_equal(cell("-2"), "'-2");
    assert_string_equal(cell("@SUM(A1:A2)"), "'@SUM(A1:A2)");
    assert_string_equal(cell("\tcmd"), "'\tcmd");
    assert_string_equal(cell("\rcmd"), "\"'\rcmd\""); /* CR: neutralized and quoted */
    assert_string_equal(cell("=a,b"), "\"'=a,b\"");
    assert_string_equal(cell("'quoted"), "'quoted"); /* a quote first is already text */
    assert_int_equal(csv_needs_neutralizing(NULL), 0);
    assert_int_equal(csv_needs_neutralizing(""), 0);
    assert_int_equal(csv_needs_neutralizing("=x"), 1);
    assert_int_equal(csv_needs_neutralizing(" =x"), 0);
}

static void test_rows(void **state)
{
    struct buf b;
    buf_init(&b, 1024);
    const char *r1[] = {"code", "guest_name", "notes"};
    const char *r2[] = {"RES1", "Pérez, Juan", NULL};
    const char *r3[] = {"", "", ""};
    assert_int_equal(csv_row(&b, r1, 3), 0);
    assert_int_equal(csv_row(&b, r2, 3), 0);
    assert_int_equal(csv_row(&b, r3, 3), 0);
    assert_string_equal(b.data, "code,guest_name,notes\r\nRES1,\"Pérez, Juan\",\r\n,,\r\n");
    buf_cleanup(&b);
}

static void test_limit(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    const char *row[] = {"1234", "567"};
    assert_int_equal(csv_row(&b, row, 2), BUF_TOO_BIG); /* 4 + 1 + 3 + CRLF = 10 > 8 */
    buf_cleanup(&b);
    buf_init(&b, 10);
    assert_int_equal(csv_row(&b, row, 2), 0);
    assert_int_equal(b.len, 10);
    buf_cleanup(&b);
    buf_init(&b, 3);
    assert_int_equal(csv_cell(&b, "a,b", 1), BUF_TOO_BIG); /* needs 5 with its quotes */
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_cells),  cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_neutralizing), cmocka_unit_test(test_rows),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
