/* nlu.h - understanding guest messages in (Argentine) Spanish: rule-based and deterministic.
 *
 * nlu_parse() reads one message and returns what it asks for (an intent) and what it says (dates, number
 * of guests, an option number, a reservation code). It never reads the clock: "today" is passed in, so
 * "mañana" or "este finde" mean the same thing in a test and in production. Pure and thread-safe.
 *
 * Text handling: at most NLU_MAX_TEXT bytes are read (the rest is ignored and `truncated` set, cut at a
 * UTF-8 character boundary); invalid UTF-8 bytes, emoji and punctuation are read as spaces; letters are
 * lower-cased and accents dropped (á -> a, ñ -> n, ü -> u); letters repeated three or more times collapse
 * to one ("holaaa"); a few common spellings are mapped ("fds", "fin de semana" -> finde; "kiero" ->
 * quiero; "grax" -> gracias), and a word of six or more letters at one edit (insertion, deletion,
 * substitution or swap of neighbours) from exactly one known keyword reads as that keyword ("reserbar",
 * "disponibilida", "febreo").
 *
 * Dates (see docs/whatsapp.md for the table):
 *   - "12/1", "12/01", "12-1", "12/01/2027", "12/1/27", "12 de enero", "12 de enero de 2027",
 *     "1ro de enero"; a date without a year is its next occurrence, today included;
 *   - ranges "del 12 al 15 de enero", "12 al 15/1", "del 30/12 al 2/1" (the second date is the first
 *     occurrence after the first one, so ranges cross the year), "desde el 12 hasta el 15",
 *     "entrada 12/1 salida 15/1", "del 28 al 3 de febrero" (28 January);
 *   - "hoy", "mañana", "pasado mañana"; a weekday ("el viernes", "el próximo viernes", "el viernes que
 *     viene") is its next occurrence strictly after today;
 *   - "este finde" / "el finde" / "fin de semana" / "fds": the Friday and Saturday nights of the coming
 *     weekend (check-in Friday, check-out Sunday). From Monday to Friday that is this week's Friday; on
 *     Saturday only Saturday night is left (check-in today, check-out Sunday); on Sunday it is next week's;
 *   - "el finde que viene" / "el próximo finde" / "el otro finde": the weekend after "este finde";
 *   - "finde largo": Friday to Monday (three nights: Friday, Saturday and Sunday) of "este finde" (or of
 *     the next one with "que viene");
 *   - lengths: "3 noches", "tres noches", "una semana" (7 nights), "2 semanas", "4 días" (read as nights);
 *     with a start date ("3 noches desde el viernes", "una semana desde el 5") they give the check-out.
 *
 * Guests: "para 4", "somos 3", "4 personas", "2 adultos y 2 niños" (groups are added: 4), "4 pax",
 * "3 huéspedes", "seríamos cinco", "vamos 2", "una pareja" (2), "solo yo" (1). 1..NLU_MAX_GUESTS. */
#ifndef CABANAS_NLU_H
#define CABANAS_NLU_H

#include "domain/booking.h"
#include "domain/dates.h"

#include <stddef.h>

#define NLU_MAX_TEXT 1000 /* bytes of a message that are read */
#define NLU_MAX_TOKENS 200
#define NLU_MAX_GUESTS 99
#define NLU_MAX_NIGHTS 365

enum nlu_intent {
    NLU_UNKNOWN = 0,
    NLU_GREET,        /* hola, buenas */
    NLU_AVAILABILITY, /* lugar, precio, disponibilidad, or any message that gives dates or guests */
    NLU_CHOOSE,       /* "la 2", "opción 1", "la primera" */
    NLU_BOOK,         /* reservar, confirmo, dale, sí */
    NLU_CANCEL,       /* cancelar (with a code or "mi reserva") */
    NLU_STATUS,       /* estado de mi reserva, ¿se confirmó? */
    NLU_HELP,         /* ayuda, menú */
    NLU_HUMAN,        /* hablar con una persona */
    NLU_THANKS,       /* gracias, chau */
    NLU_CHANGE_DATES, /* cambiar fechas, otras fechas */
    NLU_DENY,         /* no, mejor no */
    NLU_INTENT_COUNT
};

struct nlu_result {
    enum nlu_intent intent;
    int has_check_in, has_check_out;
    struct date check_in, check_out; /* valid when the flag is set; check_out > check_in when both are */
    int nights;                      /* a length the guest stated ("3 noches"), 0 when none */
    int guests;                      /* 0 when not stated */
    int option;                      /* 1..10 for "la 2", 0 when none */
    int number;                      /* the whole message is one number ("4"), else 0 */
    char code[RES_CODE_LEN + 1];     /* a reservation code, upper-cased, "" when none */
    int mine;                        /* "mi reserva", "mis reservas" */
    int invalid_date;                /* a date was written that does not exist ("31/2") or is reversed */
    int truncated;                   /* the message was longer than NLU_MAX_TEXT */
};

/* Parses `len` bytes of `text` (need not be NUL-terminated) as of `today`. Always fills *out. */
void nlu_parse(const char *text, size_t len, struct date today, struct nlu_result *out);

/* "greet", "availability", ... (the label of whatsapp_intents_total); "unknown" for NLU_UNKNOWN. */
const char *nlu_intent_name(enum nlu_intent intent);

/* The intent with that name, or -1. */
int nlu_intent_from_name(const char *name);

/* Writes the normalized form of `text` (lower case, no accents, punctuation as single spaces) into out,
 * at most outlen-1 bytes. For matching accommodation names against a message. Returns the length. */
size_t nlu_normalize(const char *text, size_t len, char *out, size_t outlen);

/* Copies at most `max` bytes of `s` into out (size outlen > max), cut at a UTF-8 character boundary. */
void nlu_utf8_truncate(const char *s, size_t max, char *out, size_t outlen);

#endif
