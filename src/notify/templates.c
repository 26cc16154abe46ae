/* templates.c - the Spanish messages. See templates.h.
 *
 * One table row per template: a guest renderer and an owner renderer. Every slot goes through clean():
 * control characters become spaces (in subjects, newlines too) and values are cut at a UTF-8 character
 * boundary, so no input can break a subject line or grow a message without bound. */
#include "templates.h"

#include "core/buf.h"

#include "domain/money.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- formatting --- */

void template_format_money(int64_t cents, const char *currency, char *out, size_t outlen)
{
    money_format_local(cents, currency, 0, out, outlen);
}

void template_format_date(const char *iso, char *out, size_t outlen)
{
    int ok = strlen(iso) == 10 && iso[4] == '-' && iso[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        ok = i == 4 || i == 7 || (iso[i] >= '0' && iso[i] <= '9');
    if (ok)
        snprintf(out, outlen, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
    else
        snprintf(out, outlen, "%s", iso);
}

void template_format_local_time(long long t, char *out, size_t outlen)
{
    if (t <= 0) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    localtime_r(&tt, &tm);
    snprintf(out, outlen, "%02d/%02d/%04d %02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min);
}

/* Length of the UTF-8 sequence starting with byte c (1 for a stray continuation byte). */
static size_t seq_len(unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* Copies `in` into out (at most outlen - 1 bytes, cut between characters). Control characters become
 * spaces; with `multiline`, newlines stay. A CR LF pair reads as one newline. */
static void clean(const char *in, char *out, size_t outlen, int multiline)
{
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    while (*p) {
        size_t n = seq_len(*p);
        for (size_t i = 1; i < n; i++)
            if (!p[i]) /* a truncated sequence at the end */
                n = i;
        if (k + n >= outlen)
            break;
        if (n == 1) {
            unsigned char c = *p;
            if (c == '\r' && p[1] == '\n') {
                p++;
                continue;
            }
            if (multiline && (c == '\n' || c == '\r'))
                out[k++] = '\n';
            else
                out[k++] = (char)(c < 0x20 || c == 0x7F ? ' ' : c);
        } else {
            memcpy(out + k, p, n);
            k += n;
        }
        p += n;
    }
    out[k] = '\0';
}

/* --- rendering helpers --- */

struct ctx {
    const struct template_input *in;
    const struct reservation *r;
    struct buf *b;
    struct template_output *out;
    char acc[ACC_NAME_MAX + 1];
    char name[GUEST_NAME_MAX + 1];
    char in_date[16], out_date[16];
    int overflow; /* a line did not fit in TEMPLATE_BODY_MAX */
};

static void subject(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void subject(struct ctx *c, const char *fmt, ...)
{
    char raw[4 * TEMPLATE_SUBJECT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    clean(raw, c->out->subject, sizeof c->out->subject, 0);
}

static void put(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct ctx *c, const char *fmt, ...)
{
    char line[2 * TEMPLATE_VALUE_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (buf_puts(c->b, line) != 0)
        c->overflow = 1;
}

static void money(int64_t cents, const char *currency, char out[48])
{
    template_format_money(cents, currency, out, 48);
}

static void greeting(struct ctx *c)
{
    if (c->name[0])
        put(c, "Hola, %s:\n\n", c->name);
    else
        put(c, "Hola:\n\n");
}

static void details(struct ctx *c)
{
    const struct reservation *r = c->r;
    char total[48], deposit[48];
    money(r->total_cents, r->currency, total);
    money(r->deposit_cents, r->currency, deposit);
    put(c, "Alojamiento: %s\n", c->acc);
    put(c, "Código de reserva: %s\n", r->code);
    put(c, "Llegada (check-in): %s\n", c->in_date);
    put(c, "Salida (check-out): %s\n", c->out_date);
    put(c, "Noches: %d\n", r->nights);
    put(c, "Huéspedes: %d\n", r->guests);
    put(c, "Total: %s\n", total);
    put(c, "Seña (%d %%): %s\n", r->deposit_percent, deposit);
}

static void paid_and_balance(struct ctx *c)
{
    const struct reservation *r = c->r;
    char paid[48], balance[48];
    money(r->paid_cents, r->currency, paid);
    put(c, "Pagado: %s\n", paid);
    if (r->total_cents > r->paid_cents) {
        money(r->total_cents - r->paid_cents, r->currency, balance);
        put(c, "Saldo a pagar: %s\n", balance);
    }
}

static void guest_contact(struct ctx *c)
{
    const struct reservation *r = c->r;
    put(c, "\nHuésped: %s\n", c->name);
    put(c, "Teléfono: %s%s\n", r->guest_phone[0] ? "+" : "",
        r->guest_phone[0] ? r->guest_phone : "(sin teléfono)");
    put(c, "Email: %s\n", r->guest_email[0] ? r->guest_email : "(sin email)");
    put(c, "Canal: %s\n", r->channel);
}

/* A payload value as one clean line (strings as they are, other values as compact JSON). */
static void slot_text(const json_t *v, char *out, size_t outlen)
{
    if (json_is_string(v)) {
        clean(json_string_value(v), out, outlen, 0);
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    clean(s ? s : "", out, outlen, 0);
    free(s);
}

/* The payload keys not in `named` (NULL-terminated), as "clave: valor" lines. */
static void other_slots(struct ctx *c, const char *const *named)
{
    const json_t *p = c->in->payload;
    if (!json_is_object(p))
        return;
    const char *key;
    const json_t *v;
    int first = 1;
    json_object_foreach((json_t *)p, key, v)
    {
        int known = json_is_null(v);
        for (int i = 0; named && named[i] && !known; i++)
            known = strcmp(key, named[i]) == 0;
        if (known)
            continue;
        char k[128], value[TEMPLATE_VALUE_MAX + 1];
        clean(key, k, sizeof k, 0);
        slot_text(v, value, sizeof value);
        if (first)
            put(c, "\nOtros datos:\n");
        first = 0;
        put(c, "%s: %s\n", k, value);
    }
}

/* A payload string slot (first of the given keys that is present), cleaned; "" when absent. A number
 * is accepted too (ids). */
static void payload_value(const json_t *payload, const char *key, const char *alias, char *out, size_t outlen)
{
    const json_t *v = payload ? json_object_get(payload, key) : NULL;
    if ((!v || json_is_null(v)) && alias && payload)
        v = json_object_get(payload, alias);
    if (!v || json_is_null(v)) {
        out[0] = '\0';
        return;
    }
    slot_text(v, out, outlen);
}

/* --- the templates --- */

static void hold_created_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    char expiry[32], deposit[48];
    template_format_local_time(r->expires_at, expiry, sizeof expiry);
    money(r->deposit_cents, r->currency, deposit);
    subject(c, "Tu pre-reserva en %s (%s)", c->acc, r->code);
    greeting(c);
    put(c, "Recibimos tu pre-reserva. Las noches quedan reservadas para vos hasta el %s (hora local).\n\n",
        expiry);
    details(c);
    if (r->payment_url[0]) {
        put(c, "\nPara confirmarla, pagá la seña de %s con Mercado Pago antes de esa hora:\n%s\n", deposit,
            r->payment_url);
    } else if (c->in->payments_enabled) {
        put(c,
            "\nEl link de pago de la seña (%s) todavía se está generando. Lo vas a poder ver al consultar tu "
            "reserva con el código %s.\n",
            deposit, r->code);
    } else {
        put(c, "\nPara confirmarla, coordiná con nosotros el pago de la seña de %s antes de esa hora.\n",
            deposit);
    }
    put(c, "\nSi la seña no se paga a tiempo, la pre-reserva vence y las noches se liberan.\n\n¡Gracias!\n");
}

static void hold_created_owner(struct ctx *c)
{
    const struct reservation *r = c->r;
    char expiry[32];
    template_format_local_time(r->expires_at, expiry, sizeof expiry);
    subject(c, "Nueva pre-reserva: %s, %s al %s (%s)", c->acc, c->in_date, c->out_date, r->code);
    put(c, "Hay una nueva pre-reserva esperando el pago de la seña hasta el %s (hora local).\n\n", expiry);
    details(c);
    guest_contact(c);
}

static void booking_confirmed_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Reserva confirmada en %s (%s)", c->acc, r->code);
    greeting(c);
    put(c, "¡Tu reserva está confirmada! Te esperamos.\n\n");
    details(c);
    paid_and_balance(c);
    put(c, "\nGuardá este correo: tu código de reserva es %s.\n\n¡Gracias!\n", r->code);
}

static void booking_confirmed_owner(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Reserva confirmada: %s, %s al %s (%s)", c->acc, c->in_date, c->out_date, r->code);
    put(c, "Se confirmó una reserva.\n\n");
    details(c);
    paid_and_balance(c);
    guest_contact(c);
}

static void hold_expired_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Tu pre-reserva %s venció", r->code);
    greeting(c);
    put(c,
        "Tu pre-reserva en %s del %s al %s (código %s) venció porque no recibimos el pago de la seña a "
        "tiempo, "
        "y las noches se liberaron.\n\n",
        c->acc, c->in_date, c->out_date, r->code);
    put(c, "Si todavía querés venir, podés hacer una nueva reserva.\n\n¡Gracias!\n");
}

static void hold_expired_owner(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Pre-reserva vencida: %s, %s al %s (%s)", c->acc, c->in_date, c->out_date, r->code);
    put(c, "Una pre-reserva venció sin el pago de la seña; sus noches quedaron libres.\n\n");
    details(c);
    guest_contact(c);
}

static void booking_cancelled_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    char reason[REASON_MAX + 1];
    clean(r->cancel_reason, reason, sizeof reason, 0);
    subject(c, "Reserva cancelada: %s (%s)", c->acc, r->code);
    greeting(c);
    put(c, "Tu reserva en %s del %s al %s (código %s) fue cancelada.\n", c->acc, c->in_date, c->out_date,
        r->code);
    if (reason[0])
        put(c, "Motivo: %s\n", reason);
    put(c, "\nSi tenés alguna pregunta, respondé este correo.\n");
}

static void booking_cancelled_owner(struct ctx *c)
{
    const struct reservation *r = c->r;
    char reason[REASON_MAX + 1];
    clean(r->cancel_reason, reason, sizeof reason, 0);
    subject(c, "Reserva cancelada: %s, %s al %s (%s)", c->acc, c->in_date, c->out_date, r->code);
    put(c, "Se canceló una reserva; sus noches quedaron libres.\n\n");
    details(c);
    if (r->paid_cents > 0) {
        char paid[48];
        money(r->paid_cents, r->currency, paid);
        put(c, "Pagado: %s (revisá si corresponde una devolución)\n", paid);
    }
    put(c, "Motivo: %s\n", reason[0] ? reason : "(sin motivo)");
    guest_contact(c);
}

static void payment_needs_refund_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Recibimos tu pago de la reserva %s", r->code);
    greeting(c);
    put(c,
        "Recibimos tu pago para %s del %s al %s (código %s), pero cuando se acreditó esas noches ya no "
        "estaban "
        "disponibles.\n\n",
        c->acc, c->in_date, c->out_date, r->code);
    put(c, "No perdiste nada: nos vamos a comunicar con vos para devolverte el dinero u ofrecerte otras "
           "fechas.\n");
}

static void payment_needs_refund_owner(struct ctx *c)
{
    static const char *const named[] = {NULL};
    const struct reservation *r = c->r;
    subject(c, "URGENTE: pago a devolver, reserva %s (%s)", r->code, c->acc);
    put(c,
        "Llegó un pago aprobado para la reserva %s, pero sus noches ya estaban ocupadas cuando se acreditó. "
        "La reserva no se confirmó: hay que devolver el dinero o reubicar al huésped.\n\n",
        r->code);
    details(c);
    paid_and_balance(c);
    put(c, "Estado del pago: %s\n", r->payment_status);
    guest_contact(c);
    other_slots(c, named);
}

static void payment_refunded_guest(struct ctx *c)
{
    const struct reservation *r = c->r;
    subject(c, "Devolución del pago de la reserva %s", r->code);
    greeting(c);
    put(c, "El pago de tu reserva %s en %s fue devuelto a través de Mercado Pago.\n", r->code, c->acc);
    put(c, "\nSi tenés alguna pregunta, respondé este correo.\n");
}

static void payment_refunded_owner(struct ctx *c)
{
    static const char *const named[] = {NULL};
    const struct reservation *r = c->r;
    subject(c, "Pago devuelto: reserva %s (%s)", r->code, c->acc);
    put(c, "Mercado Pago informa que el pago de la reserva %s fue devuelto o contracargado.\n\n", r->code);
    details(c);
    paid_and_balance(c);
    put(c, "Estado del pago: %s\nEstado de la reserva: %s\n", r->payment_status, r->status);
    guest_contact(c);
    other_slots(c, named);
}

static void ical_conflict_owner(struct ctx *c)
{
    static const char *const named[] = {
        "accommodation_name", "accommodation_id", "feed", "start", "end", "summary",
        "reservation_code",   "detail",           NULL};
    const json_t *p = c->in->payload;
    char acc[ACC_NAME_MAX + 1], acc_id[32], feed[TEMPLATE_VALUE_MAX + 1], start[TEMPLATE_VALUE_MAX + 1],
        end[TEMPLATE_VALUE_MAX + 1], summary[TEMPLATE_VALUE_MAX + 1], code[64],
        detail[TEMPLATE_VALUE_MAX + 1];
    char start_d[TEMPLATE_VALUE_MAX + 1], end_d[TEMPLATE_VALUE_MAX + 1];
    payload_value(p, "accommodation_name", NULL, acc, sizeof acc);
    payload_value(p, "accommodation_id", NULL, acc_id, sizeof acc_id);
    payload_value(p, "feed", NULL, feed, sizeof feed);
    payload_value(p, "start", NULL, start, sizeof start);
    payload_value(p, "end", NULL, end, sizeof end);
    payload_value(p, "summary", NULL, summary, sizeof summary);
    payload_value(p, "reservation_code", NULL, code, sizeof code);
    payload_value(p, "detail", NULL, detail, sizeof detail);
    if (!acc[0] && c->r)
        snprintf(acc, sizeof acc, "%s", c->acc);
    if (!code[0] && c->r)
        snprintf(code, sizeof code, "%s", c->r->code);
    if (!acc[0] && acc_id[0])
        snprintf(acc, sizeof acc, "alojamiento %s", acc_id);
    template_format_date(start, start_d, sizeof start_d);
    template_format_date(end, end_d, sizeof end_d);
    if (acc[0])
        subject(c, "Conflicto de calendario: %s", acc);
    else
        subject(c, "Conflicto de calendario");
    if (feed[0])
        put(c, "La importación del calendario externo \"%s\" trajo fechas", feed);
    else
        put(c, "La importación de un calendario externo trajo fechas");
    put(c, " que se superponen con una reserva o un bloqueo existente, y no se pudieron bloquear.\n\n");
    if (acc[0])
        put(c, "Alojamiento: %s\n", acc);
    if (start[0])
        put(c, "Desde: %s\n", start_d);
    if (end[0])
        put(c, "Hasta: %s\n", end_d);
    if (summary[0])
        put(c, "Evento: %s\n", summary);
    if (code[0])
        put(c, "Reserva afectada: %s\n", code);
    if (detail[0])
        put(c, "Detalle: %s\n", detail);
    other_slots(c, named);
    put(c, "\nRevisá los calendarios para evitar una doble reserva.\n");
}

static void handoff_owner(struct ctx *c)
{
    static const char *const named[] = {"name",   "guest_name",       "phone", "guest_phone", "message",
                                        "reason", "reservation_code", NULL};
    const json_t *p = c->in->payload;
    char name[GUEST_NAME_MAX + 1], phone[64], message[TEMPLATE_VALUE_MAX + 1], reason[TEMPLATE_VALUE_MAX + 1],
        code[64];
    payload_value(p, "name", "guest_name", name, sizeof name);
    payload_value(p, "phone", "guest_phone", phone, sizeof phone);
    payload_value(p, "message", NULL, message, sizeof message);
    payload_value(p, "reason", NULL, reason, sizeof reason);
    payload_value(p, "reservation_code", NULL, code, sizeof code);
    if (!code[0] && c->r)
        snprintf(code, sizeof code, "%s", c->r->code);
    if (!name[0] && c->r)
        snprintf(name, sizeof name, "%s", c->name);
    if (!phone[0] && c->r)
        snprintf(phone, sizeof phone, "%s", c->r->guest_phone);
    const char *plus = phone[0] && phone[0] != '+' ? "+" : "";
    if (name[0] || phone[0])
        subject(c, "Un huésped pide hablar con una persona: %s%s%s%s%s", name,
                name[0] && phone[0] ? " (" : "", plus, phone, name[0] && phone[0] ? ")" : "");
    else
        subject(c, "Un huésped pide hablar con una persona");
    put(c, "Un huésped pidió por WhatsApp hablar con una persona.\n\n");
    put(c, "Nombre: %s\n", name[0] ? name : "(sin nombre)");
    put(c, "Teléfono: %s%s\n", plus, phone[0] ? phone : "(sin teléfono)");
    if (code[0])
        put(c, "Reserva: %s\n", code);
    if (reason[0])
        put(c, "Motivo: %s\n", reason);
    if (message[0])
        put(c, "Último mensaje: %s\n", message);
    other_slots(c, named);
    if (phone[0])
        put(c, "\nRespondele por WhatsApp al %s%s.\n", plus, phone);
}

struct template_def {
    const char *name;
    int needs_reservation;
    void (*guest)(struct ctx *);
    void (*owner)(struct ctx *);
};

static const struct template_def templates[] = {
    {"hold_created", 1, hold_created_guest, hold_created_owner},
    {"booking_confirmed", 1, booking_confirmed_guest, booking_confirmed_owner},
    {"hold_expired", 1, hold_expired_guest, hold_expired_owner},
    {"booking_cancelled", 1, booking_cancelled_guest, booking_cancelled_owner},
    {"payment_needs_refund", 1, payment_needs_refund_guest, payment_needs_refund_owner},
    {"payment_refunded", 1, payment_refunded_guest, payment_refunded_owner},
    /* owner alerts: whoever the recipient, the text is the owner's */
    {"ical_conflict", 0, ical_conflict_owner, ical_conflict_owner},
    {"handoff", 0, handoff_owner, handoff_owner},
};

static const struct template_def *find(const char *name)
{
    for (size_t i = 0; name && i < sizeof templates / sizeof *templates; i++)
        if (strcmp(templates[i].name, name) == 0)
            return &templates[i];
    return NULL;
}

int template_known(const char *name)
{
    return find(name) != NULL;
}

int template_needs_reservation(const char *name)
{
    const struct template_def *t = find(name);
    return t && t->needs_reservation;
}

int template_render(const struct template_input *in, struct template_output *out, char *err, size_t errlen)
{
    const struct template_def *t = find(in->name);
    if (!t) {
        snprintf(err, errlen, "unknown template '%s'", in->name ? in->name : "");
        return -1;
    }
    if (t->needs_reservation && !in->r) {
        snprintf(err, errlen, "template %s needs its reservation", t->name);
        return -1;
    }
    struct buf b;
    buf_init(&b, TEMPLATE_BODY_MAX);
    struct ctx c = {.in = in, .r = in->r, .b = &b, .out = out};
    out->subject[0] = out->body[0] = '\0';
    if (in->r) {
        clean(in->r->accommodation_name, c.acc, sizeof c.acc, 0);
        clean(in->r->guest_name, c.name, sizeof c.name, 0);
        template_format_date(in->r->check_in, c.in_date, sizeof c.in_date);
        template_format_date(in->r->check_out, c.out_date, sizeof c.out_date);
    }
    (in->to_owner ? t->owner : t->guest)(&c);
    int rc = 0;
    if (c.overflow) {
        snprintf(err, errlen, "message %s is longer than %d bytes", t->name, TEMPLATE_BODY_MAX);
        rc = -1;
    } else if (!out->subject[0]) {
        snprintf(err, errlen, "template %s rendered no subject", t->name);
        rc = -1;
    } else {
        memcpy(out->body, b.data ? b.data : "", b.len + 1);
    }
    buf_cleanup(&b);
    return rc;
}
