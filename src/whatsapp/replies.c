/* replies.c - the assistant's texts. See replies.h. A change of wording is a change here, and only here;
 * the conversation files in tests/data/whatsapp/ check what the guest reads. */
#include "replies.h"

#include "domain/money.h"

#include "booking/service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char WA_TXT_WELCOME[] =
    "¡Hola! Soy el asistente de reservas. Decime qué fechas buscás y cuántas personas son "
    "(por ejemplo: \"del 12 al 15 de enero para 4\") y te paso lo que hay disponible con el precio.";
const char WA_TXT_HELP[] =
    "Puedo ayudarte con esto:\n"
    "• Ver disponibilidad y precios: \"del 12 al 15 de enero para 4\", \"este finde somos 2\".\n"
    "• Reservar: elegí una opción y tocá Reservar.\n"
    "• Ver tu reserva: \"estado de mi reserva\".\n"
    "• Cancelar: \"cancelar\" y el código de la reserva.\n"
    "• Hablar con una persona: \"hablar con una persona\".";
const char WA_TXT_MEDIA[] =
    "¡Gracias por el mensaje! Por ahora solo puedo leer texto. ¿Me escribís qué fechas "
    "buscás y cuántas personas son?";
const char WA_TXT_THANKS[] = "¡Gracias a vos! Cuando quieras, escribime de nuevo.";
const char WA_TXT_HANDOFF[] =
    "Listo, le aviso al equipo y una persona te va a responder por acá a la brevedad. "
    "Mientras tanto no te voy a escribir yo.";
const char WA_TXT_NOT_UNDERSTOOD[] =
    "Perdón, no te entendí. Decime fechas y cantidad de personas (por ejemplo: \"del 12 al 15 de enero "
    "para 4\"), o escribí \"ayuda\".";
const char WA_TXT_ASK_DATES[] = "¿Para qué fechas? Por ejemplo: \"del 12 al 15 de enero\" o \"este finde\".";
const char WA_TXT_ASK_DATES_AND_GUESTS[] =
    "¿Para qué fechas y cuántas personas? Por ejemplo: \"del 12 al 15 de enero para 4\".";
const char WA_TXT_ASK_CHECKOUT[] = "¿Hasta qué día? (o decime cuántas noches)";
const char WA_TXT_ASK_GUESTS[] = "¿Cuántas personas son?";
const char WA_TXT_INVALID_DATE[] =
    "Esa fecha no existe o está al revés. ¿Me la escribís de nuevo? Por ejemplo: "
    "\"del 12/1 al 15/1\".";
const char WA_TXT_PAST_DATE[] = "Esa fecha ya pasó. ¿Para qué fechas buscás?";
const char WA_TXT_TOO_LONG[] =
    "Es una estadía demasiado larga para reservar por acá. Escribí \"hablar con una "
    "persona\" y lo vemos.";
const char WA_TXT_NO_BOOKINGS[] = "No encontré reservas activas para este número.";
const char WA_TXT_CODE_NOT_FOUND[] = "No encontré una reserva activa con ese código para este número.";
const char WA_TXT_CANCEL_KEPT[] = "Listo, la reserva sigue en pie.";
const char WA_TXT_CANCEL_FAILED[] =
    "No pude cancelar esa reserva. Escribí \"hablar con una persona\" y te ayudamos.";
const char WA_TXT_TRY_LATER[] =
    "Tengo un problema técnico en este momento. ¿Me escribís de nuevo en unos minutos?";
const char WA_TXT_TAKEN[] =
    "Uy, esas noches se acaban de ocupar. ¿Querés que busque otras fechas? Decime cuáles.";
const char WA_TXT_NO_OPTION[] = "No tengo esa opción. Elegí una de la lista o decime otras fechas.";
const char WA_TXT_NOTHING_TO_BOOK[] =
    "Todavía no elegiste qué reservar. Decime fechas y cantidad de personas y te paso las opciones.";
const char WA_TXT_DENY[] = "Dale. Si querés buscar otras fechas, decime cuáles.";
const char WA_TXT_PICK_CANCEL[] = "Tenés más de una reserva. ¿Cuál querés cancelar? Elegila de la lista.";

static const char *const weekday_names[7] = {"domingo", "lunes",   "martes", "miércoles",
                                             "jueves",  "viernes", "sábado"};

void wa_fmt_money(int64_t cents, char out[WA_FMT_MAX])
{
    money_format_local(cents, "ARS", 1, out, WA_FMT_MAX);
}

void wa_fmt_day(struct date d, int this_year, char out[WA_FMT_MAX])
{
    if (d.y == this_year)
        snprintf(out, WA_FMT_MAX, "%s %02d/%02d", weekday_names[dates_weekday(d)], d.d, d.m);
    else
        snprintf(out, WA_FMT_MAX, "%s %02d/%02d/%04d", weekday_names[dates_weekday(d)], d.d, d.m, d.y);
}

void wa_fmt_time(long long t, char out[WA_FMT_MAX])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm)) {
        snprintf(out, WA_FMT_MAX, "?");
        return;
    }
    snprintf(out, WA_FMT_MAX, "%02d:%02d del %02d/%02d", tm.tm_hour, tm.tm_min, tm.tm_mday, tm.tm_mon + 1);
}

const char *wa_fmt_status(const char *s)
{
    if (strcmp(s, "confirmed") == 0)
        return "confirmada";
    if (strcmp(s, "pre_reserved") == 0)
        return "pendiente de pago de la seña";
    if (strcmp(s, "expired") == 0)
        return "vencida";
    if (strcmp(s, "cancelled") == 0)
        return "cancelada";
    return "en revisión";
}

static const char *people(int n)
{
    return n == 1 ? "persona" : "personas";
}

static const char *nights_word(long n)
{
    return n == 1 ? "noche" : "noches";
}

void wa_txt_stay(struct buf *b, struct date in, struct date out, int guests, int this_year)
{
    char a[WA_FMT_MAX], c[WA_FMT_MAX];
    wa_fmt_day(in, this_year, a);
    wa_fmt_day(out, this_year, c);
    long n = dates_diff_days(in, out);
    buf_printf(b, "Entrada: %s · Salida: %s (%ld %s), %d %s", a, c, n, nights_word(n), guests,
               people(guests));
}

void wa_txt_too_far(struct buf *b, int horizon_days)
{
    buf_printf(b, "Por ahora tomo reservas hasta %d días adelante. ¿Buscamos fechas más cercanas?",
               horizon_days);
}

void wa_txt_too_many(struct buf *b, int guests, int max_capacity)
{
    if (max_capacity > 0)
        buf_printf(b,
                   "No tengo alojamientos para %d %s: el más grande es para %d. Escribí \"hablar con una "
                   "persona\" si querés ver opciones para grupos.",
                   guests, people(guests), max_capacity);
    else
        buf_printf(b, "En este momento no hay alojamientos publicados. Escribí \"hablar con una persona\".");
}

void wa_txt_no_room(struct buf *b, struct date in, struct date out, int guests, const struct date *alt_in,
                    const struct date *alt_out, int this_year)
{
    buf_puts(b, "No tengo lugar para esas fechas.\n");
    wa_txt_stay(b, in, out, guests, this_year);
    if (alt_in && alt_out) {
        char a[WA_FMT_MAX], c[WA_FMT_MAX];
        wa_fmt_day(*alt_in, this_year, a);
        wa_fmt_day(*alt_out, this_year, c);
        buf_printf(b, "\nLo más cercano que tengo: del %s al %s. ¿Te sirve? Si no, decime otras fechas.", a,
                   c);
    } else {
        buf_puts(b, "\nTampoco encontré lugar en los días cercanos. ¿Probamos con otras fechas?");
    }
}

void wa_txt_options_head(struct buf *b, struct date in, struct date out, int guests, int this_year)
{
    buf_puts(b, "Tengo estas opciones:\n");
    wa_txt_stay(b, in, out, guests, this_year);
    buf_puts(b, "\n");
}

void wa_txt_option_line(struct buf *b, int n, const char *name, int64_t total_cents)
{
    char m[WA_FMT_MAX];
    wa_fmt_money(total_cents, m);
    buf_printf(b, "\n%d. %s: %s en total", n, name, m);
}

void wa_txt_options_tail(struct buf *b)
{
    buf_puts(b, "\n\nElegí una de la lista (o escribí \"la 1\", \"la 2\"...).");
}

void wa_txt_summary(struct buf *b, const char *name, struct date in, struct date out, int guests,
                    int64_t total_cents, int64_t deposit_cents, int deposit_percent, int this_year)
{
    char t[WA_FMT_MAX], d[WA_FMT_MAX];
    wa_fmt_money(total_cents, t);
    wa_fmt_money(deposit_cents, d);
    buf_printf(b, "%s\n", name);
    wa_txt_stay(b, in, out, guests, this_year);
    buf_printf(b, "\nTotal: %s\nSeña para reservar (%d%%): %s\n¿Reservamos?", t, deposit_percent, d);
}

void wa_txt_hold(struct buf *b, const struct reservation *r, int this_year)
{
    struct date in, out;
    char t[WA_FMT_MAX], d[WA_FMT_MAX], exp[WA_FMT_MAX];
    dates_parse(r->check_in, &in);
    dates_parse(r->check_out, &out);
    wa_fmt_money(r->total_cents, t);
    wa_fmt_money(r->deposit_cents, d);
    wa_fmt_time(r->expires_at, exp);
    buf_printf(b, "¡Listo! Te reservé %s.\n", r->accommodation_name);
    wa_txt_stay(b, in, out, r->guests, this_year);
    buf_printf(b, "\nCódigo: %s\nTotal: %s\nSeña (%d%%): %s\nLa reserva se mantiene hasta las %s.\n", r->code,
               t, r->deposit_percent, d, exp);
    if (r->payment_url[0])
        buf_printf(b, "Pagá la seña acá para confirmarla: %s", r->payment_url);
    else
        buf_puts(b, "En un momento te mando el link para pagar la seña.");
}

void wa_txt_cannot_book(struct buf *b, const char *code, const char *name)
{
    if (strcmp(code, "min_stay") == 0)
        buf_printf(b, "%s pide más noches de estadía para esas fechas. ¿Probamos con más noches?", name);
    else if (strcmp(code, "max_stay") == 0)
        buf_printf(b, "%s no toma estadías tan largas. ¿Probamos con menos noches?", name);
    else if (strcmp(code, "capacity_exceeded") == 0)
        buf_printf(b, "%s no alcanza para ese grupo. ¿Buscamos otra opción?", name);
    else if (strcmp(code, "check_in_in_past") == 0)
        buf_puts(b, WA_TXT_PAST_DATE);
    else
        buf_puts(b, WA_TXT_TRY_LATER);
}

void wa_txt_cancel_confirm(struct buf *b, const struct reservation *r, int this_year)
{
    struct date in, out;
    char a[WA_FMT_MAX], c[WA_FMT_MAX];
    dates_parse(r->check_in, &in);
    dates_parse(r->check_out, &out);
    wa_fmt_day(in, this_year, a);
    wa_fmt_day(out, this_year, c);
    buf_printf(b, "¿Confirmás que querés cancelar la reserva %s (%s, del %s al %s)?", r->code,
               r->accommodation_name, a, c);
}

void wa_txt_cancelled(struct buf *b, const struct reservation *r)
{
    buf_printf(b, "Listo, cancelé la reserva %s. Las fechas quedaron liberadas.", r->code);
    if (r->paid_cents > 0)
        buf_puts(b, " Por lo que ya pagaste, una persona del equipo se va a comunicar con vos.");
}

void wa_txt_status_line(struct buf *b, const struct reservation *r, long long now, int this_year)
{
    struct date in, out;
    char a[WA_FMT_MAX], c[WA_FMT_MAX];
    dates_parse(r->check_in, &in);
    dates_parse(r->check_out, &out);
    wa_fmt_day(in, this_year, a);
    wa_fmt_day(out, this_year, c);
    const char *st = booking_effective_status(r, now);
    buf_printf(b, "\n• %s: %s, del %s al %s. Estado: %s", r->code, r->accommodation_name, a, c,
               wa_fmt_status(st));
    if (strcmp(st, "pre_reserved") == 0 && r->expires_at) {
        char e[WA_FMT_MAX];
        wa_fmt_time(r->expires_at, e);
        buf_printf(b, " (vence a las %s)", e);
    }
}

int wa_txt_event(struct buf *b, const char *event, const struct reservation *r, int this_year)
{
    struct date in, out;
    char a[WA_FMT_MAX], c[WA_FMT_MAX], m[WA_FMT_MAX];
    dates_parse(r->check_in, &in);
    dates_parse(r->check_out, &out);
    wa_fmt_day(in, this_year, a);
    wa_fmt_day(out, this_year, c);
    if (strcmp(event, "booking_confirmed") == 0) {
        wa_fmt_money(r->paid_cents, m);
        buf_printf(b, "¡Tu reserva %s está confirmada! %s, del %s al %s. Recibimos %s. ¡Te esperamos!",
                   r->code, r->accommodation_name, a, c, m);
        return 0;
    }
    if (strcmp(event, "hold_expired") == 0) {
        buf_printf(
            b,
            "La reserva %s (%s, del %s al %s) venció sin el pago de la seña y las fechas se liberaron. "
            "Si querés, escribime y vemos disponibilidad de nuevo.",
            r->code, r->accommodation_name, a, c);
        return 0;
    }
    if (strcmp(event, "booking_cancelled") == 0) {
        buf_printf(b, "La reserva %s (%s, del %s al %s) fue cancelada.", r->code, r->accommodation_name, a,
                   c);
        return 0;
    }
    if (strcmp(event, "hold_created") == 0) {
        wa_fmt_money(r->deposit_cents, m);
        char e[WA_FMT_MAX];
        wa_fmt_time(r->expires_at, e);
        buf_printf(b, "Tenés una reserva pendiente %s: %s, del %s al %s. Seña: %s, hasta las %s.", r->code,
                   r->accommodation_name, a, c, m, e);
        if (r->payment_url[0])
            buf_printf(b, " Pagala acá: %s", r->payment_url);
        return 0;
    }
    return -1;
}
