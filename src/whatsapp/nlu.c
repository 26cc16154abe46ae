/* nlu.c - rule-based understanding of guest messages. See nlu.h for what is understood.
 *
 * Three passes over a bounded copy of the message:
 *   1. normalize: UTF-8 decoded (invalid bytes become spaces), lower case, accents dropped, punctuation
 *      as spaces; then split into at most NLU_MAX_TOKENS tokens of at most WORD_MAX-1 bytes. Each token is
 *      canonicalized: a reservation code is lifted out, "12/1" becomes a date token, "4personas" is split,
 *      letter runs collapse, spellings are mapped and one-edit typos of known keywords are corrected; "fin
 *      de semana" and "pasado mañana" become one token each.
 *   2. entities, in an order that lets each claim its tokens: dates (and lengths of stay), then guests,
 *      then an option number. A token used by one entity is not read by the next ("para el 4" is a date,
 *      "para 4" a group size).
 *   3. the intent, by priority: a request for a person beats a cancellation, which beats everything else;
 *      "reservar" with new dates or guests is an availability question (the hold is only ever created
 *      from a summary the guest has seen).
 * Everything is on the stack; no allocation, no clock, no locale. */
#include "nlu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 32
#define NORM_MAX (NLU_MAX_TEXT * 2 + 1) /* a 2-byte letter becomes 1 byte; a split adds 1 space */

struct tok {
    char w[WORD_MAX]; /* canonical word; "" for a date token */
    int num;          /* value when the token is a number (digits or a number word), else -1 */
    int digits;       /* written with digits */
    int dd, mm, yy;   /* a d/m[/y] token: dd > 0 (yy 0 when absent) */
    int used;         /* claimed by an entity */
};

struct toks {
    struct tok t[NLU_MAX_TOKENS];
    int n;
    char code[RES_CODE_LEN + 1];
    int bad_date; /* a token shaped like a date ("15/13", "31-2") that is not one */
};

/* ------------------------------------------------------------------------------------------- text */

/* Decodes one UTF-8 character at s[*i] (n bytes available). Returns the code point and advances *i, or
 * -1 for an invalid or truncated sequence (then *i advances by one byte). */
static long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    long cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else {
        (*i)++;
        return -1;
    }
    if (*i + need >= n) { /* truncated sequence */
        (*i)++;
        return -1;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return -1;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3f);
    }
    /* overlong 3/4-byte forms and surrogates */
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        (*i)++;
        return -1;
    }
    *i += need + 1;
    return cp;
}

/* The ASCII letter a Latin-1 letter reads as (á -> a, Ñ -> n), or 0. */
static char fold_latin1(long cp)
{
    static const char map[64] = {
        /* U+00C0 .. U+00FF */
        'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', /* C0-CF */
        'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   's', /* D0-DF */
        'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', /* E0-EF */
        'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   'y', /* F0-FF */
    };
    if (cp >= 0xc0 && cp <= 0xff)
        return map[cp - 0xc0];
    return 0;
}

/* Where to cut `s` so that at most `max` bytes remain without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* back up over continuation bytes: the character starting before them does not fit */
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return cut;
}

void nlu_utf8_truncate(const char *s, size_t max, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t len = strlen(s);
    if (max > outlen - 1)
        max = outlen - 1;
    size_t cut = utf8_cut(s, len, max);
    memcpy(out, s, cut);
    out[cut] = '\0';
}

/* Lower-cased ASCII letters and digits, '/' and '-' kept; everything else one space. */
static size_t normalize_chars(const char *text, size_t len, char *out, size_t outlen, int keep_marks)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, o = 0;
    while (i < len && o + 1 < outlen) {
        long cp = utf8_next(s, len, &i);
        char c = 0;
        if (cp >= 'A' && cp <= 'Z')
            c = (char)(cp - 'A' + 'a');
        else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
            c = (char)cp;
        else if (keep_marks && (cp == '/' || cp == '-' || cp == '+'))
            c = (char)cp;
        else if (cp == 0xb0 || cp == 0xba || cp == 0xaa) /* ° º ª after ordinals: "1°" */
            c = keep_marks ? 'o' : ' ';
        else
            c = fold_latin1(cp);
        if (!c)
            c = ' ';
        if (c == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

size_t nlu_normalize(const char *text, size_t len, char *out, size_t outlen)
{
    if (!outlen)
        return 0;
    return normalize_chars(text, len, out, outlen, 0);
}

/* ---------------------------------------------------------------------------------------- lexicon */

static const char *const months[12][4] = {
    {"enero", "ene", NULL},   {"febrero", "feb", NULL},   {"marzo", "mar", NULL},
    {"abril", "abr", NULL},   {"mayo", "may", NULL},      {"junio", "jun", NULL},
    {"julio", "jul", NULL},   {"agosto", "ago", NULL},    {"septiembre", "sep", "sept"},
    {"octubre", "oct", NULL}, {"noviembre", "nov", NULL}, {"diciembre", "dic", NULL},
};

/* 0 = domingo .. 6 = sábado, as dates_weekday() */
static const char *const weekdays[7] = {"domingo", "lunes",   "martes", "miercoles",
                                        "jueves",  "viernes", "sabado"};

static const struct {
    const char *w;
    int v;
} number_words[] = {
    {"un", 1},       {"uno", 1},     {"una", 1},        {"dos", 2},     {"tres", 3},
    {"cuatro", 4},   {"cinco", 5},   {"seis", 6},       {"siete", 7},   {"ocho", 8},
    {"nueve", 9},    {"diez", 10},   {"once", 11},      {"doce", 12},   {"trece", 13},
    {"catorce", 14}, {"quince", 15}, {"dieciseis", 16}, {"veinte", 20}, {"primero", 1},
};

static const struct {
    const char *w;
    int v;
} ordinals[] = {
    {"primera", 1}, {"primero", 1}, {"segunda", 2}, {"segundo", 2}, {"tercera", 3},
    {"tercero", 3}, {"cuarta", 4},  {"cuarto", 4},  {"quinta", 5},  {"quinto", 5},
    {"sexta", 6},   {"septima", 7}, {"octava", 8},  {"novena", 9},  {"decima", 10},
};

/* exact respellings, applied after accents are dropped and runs collapsed */
static const struct {
    const char *from, *to;
} spellings[] = {
    {"fds", "finde"},
    {"findesemana", "finde"},
    {"finde", "finde"},
    {"findes", "finde"},
    {"kiero", "quiero"},
    {"qiero", "quiero"},
    {"q", "que"},
    {"k", "que"},
    {"grax", "gracias"},
    {"grs", "gracias"},
    {"grcs", "gracias"},
    {"gracia", "gracias"},
    {"graciass", "gracias"},
    {"thanks", "gracias"},
    {"thx", "gracias"},
    {"ola", "hola"},
    {"holis", "hola"},
    {"holi", "hola"},
    {"hello", "hola"},
    {"hi", "hola"},
    {"xfa", "porfavor"},
    {"porfa", "porfavor"},
    {"setiembre", "septiembre"},
    {"pax", "pax"},
    {"mnn", "manana"},
    {"tenes", "tienen"},
    {"tienes", "tienen"},
    {"tiene", "tienen"},
    {"reserbar", "reservar"},
    {"reserba", "reserva"},
    {"ok", "ok"},
    {"okey", "ok"},
    {"oka", "ok"},
    {"okay", "ok"},
    {"dia", "dia"},
    {"sip", "si"},
    {"sii", "si"},
    {"nop", "no"},
    {"noo", "no"},
    {"bs", "buenas"},
    {"bue", "bueno"},
    {"msj", "mensaje"},
    {"huespedes", "huespedes"},
    {"huesped", "huesped"},
    {"checkin", "entrada"},
    {"checkout", "salida"},
    {"chicxs", "chicos"},
};

/* Words a longer typo may be corrected to (at most one edit away from exactly one of them). */
static const char *const keywords[] = {
    "reservar",  "reservo",   "reservame", "reserva",     "reservas",    "reservacion", "reservamos",
    "cancelar",  "cancelo",   "cancela",   "cancelacion", "disponible",  "disponibles", "disponibilidad",
    "personas",  "persona",   "adultos",   "adulto",      "huesped",     "huespedes",   "menores",
    "grandes",   "semana",    "semanas",   "noches",      "manana",      "pasado",      "viernes",
    "sabado",    "domingo",   "miercoles", "jueves",      "martes",      "febrero",     "septiembre",
    "octubre",   "noviembre", "diciembre", "agosto",      "gracias",     "precio",      "precios",
    "tarifa",    "tarifas",   "quiero",    "tienen",      "alojamiento", "cabana",      "cabanas",
    "estado",    "confirmo",  "confirmar", "confirmada",  "confirmado",  "hablar",      "humano",
    "operador",  "operadora", "asesor",    "entrada",     "salida",      "seriamos",    "perfecto",
    "genial",    "buenas",    "buenos",    "tardes",      "opcion",      "numero",      "primera",
    "segunda",   "tercera",   "cambiar",   "fechas",      "libres",      "disponib",    "cuesta",
    "costaria",  "saldria",   "cuanto",    "ninos",       "llegamos",    "nos",         "queremos",
    "queria",    "quisiera",  "consulta",  "consultar",   "encargado",   "atencion",    "porfavor",
    "buenisimo", "adultas",   "quedarnos", "integrantes", "familia",     "pareja",      "lugares",
};

/* 1 when a and b are at most one edit apart (insert, delete, substitute, or swap two neighbours). */
static int one_edit(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > lb + 1 || lb > la + 1)
        return 0;
    size_t i = 0;
    while (i < la && i < lb && a[i] == b[i])
        i++;
    if (i == la && i == lb)
        return 1; /* equal */
    if (la == lb) {
        if (strcmp(a + i + 1, b + i + 1) == 0)
            return 1; /* substitution */
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && strcmp(a + i + 2, b + i + 2) == 0;
    }
    if (la > lb)
        return strcmp(a + i + 1, b + i) == 0; /* a has an extra letter */
    return strcmp(a + i, b + i + 1) == 0;
}

/* Calls fn on every word of the lexicon a typo may be corrected to: keywords, months, weekdays, number
 * words and ordinals. Stops early when fn returns non-zero and returns that. */
static int each_known_word(int (*fn)(const char *word, void *ctx), void *ctx)
{
    int rc;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if ((rc = fn(keywords[i], ctx)) != 0)
            return rc;
    for (int m = 0; m < 12; m++)
        if ((rc = fn(months[m][0], ctx)) != 0)
            return rc;
    for (int d = 0; d < 7; d++)
        if ((rc = fn(weekdays[d], ctx)) != 0)
            return rc;
    for (size_t i = 0; i < sizeof number_words / sizeof *number_words; i++)
        if ((rc = fn(number_words[i].w, ctx)) != 0)
            return rc;
    for (size_t i = 0; i < sizeof ordinals / sizeof *ordinals; i++)
        if ((rc = fn(ordinals[i].w, ctx)) != 0)
            return rc;
    return 0;
}

static int same_word(const char *word, void *ctx)
{
    return strcmp(word, ctx) == 0;
}

struct typo_search {
    const char *w;
    const char *hit;
    int hits;
};

static int near_word(const char *word, void *ctx)
{
    struct typo_search *t = ctx;
    if (strlen(word) >= 5 && one_edit(t->w, word) && !(t->hit && strcmp(t->hit, word) == 0)) {
        t->hit = word;
        t->hits++;
    }
    return 0;
}

static void correct_typo(char *w)
{
    size_t len = strlen(w);
    if (len < 6 || each_known_word(same_word, w))
        return;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return;
    struct typo_search t = {w, NULL, 0};
    each_known_word(near_word, &t);
    if (t.hits == 1) /* one candidate only: two would be a guess */
        snprintf(w, WORD_MAX, "%s", t.hit);
}

/* "holaaa" -> "hola": three or more of the same letter become one. */
static void collapse_runs(char *w)
{
    size_t o = 0;
    for (size_t i = 0; w[i];) {
        size_t j = i;
        while (w[j] == w[i])
            j++;
        if (j - i >= 3 && w[i] >= 'a' && w[i] <= 'z')
            w[o++] = w[i];
        else
            for (size_t k = i; k < j; k++)
                w[o++] = w[k];
        i = j;
    }
    w[o] = '\0';
}

static void respell(char *w)
{
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++)
        if (strcmp(w, spellings[i].from) == 0) {
            snprintf(w, WORD_MAX, "%s", spellings[i].to);
            return;
        }
}

static int month_of(const char *w)
{
    for (int m = 0; m < 12; m++)
        for (int k = 0; k < 4 && months[m][k]; k++)
            if (strcmp(w, months[m][k]) == 0)
                return m + 1;
    return 0;
}

static int weekday_of(const char *w)
{
    for (int d = 0; d < 7; d++)
        if (strcmp(w, weekdays[d]) == 0)
            return d;
    return -1;
}

static int number_word(const char *w)
{
    for (size_t i = 0; i < sizeof number_words / sizeof *number_words; i++)
        if (strcmp(w, number_words[i].w) == 0)
            return number_words[i].v;
    return -1;
}

static int ordinal_of(const char *w)
{
    for (size_t i = 0; i < sizeof ordinals / sizeof *ordinals; i++)
        if (strcmp(w, ordinals[i].w) == 0)
            return ordinals[i].v;
    return 0;
}

/* ------------------------------------------------------------------------------------------ tokens */

static struct tok *push(struct toks *ts)
{
    if (ts->n >= NLU_MAX_TOKENS)
        return NULL;
    struct tok *t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->num = -1;
    return t;
}

/* Parses digits s[0..n) as a non-negative number (at most 6 digits), or -1. */
static int parse_digits(const char *s, size_t n)
{
    if (n == 0 || n > 6)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static void push_word(struct toks *ts, const char *w, size_t n)
{
    if (n == 0)
        return;
    struct tok *t = push(ts);
    if (!t)
        return;
    if (n >= WORD_MAX)
        n = WORD_MAX - 1;
    memcpy(t->w, w, n);
    t->w[n] = '\0';
    int v = parse_digits(t->w, n);
    if (v >= 0) {
        t->num = v;
        t->digits = 1;
        return;
    }
    collapse_runs(t->w);
    respell(t->w);
    correct_typo(t->w);
    t->num = number_word(t->w);
}

/* Crockford base 32: O reads as 0, I and L as 1; U is not in the alphabet. */
static int code_char(char c, char *out)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'O')
        c = '0';
    else if (c == 'I' || c == 'L')
        c = '1';
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'U')) {
        *out = c;
        return 1;
    }
    return 0;
}

static int take_code(struct toks *ts, const char *w, size_t n)
{
    if (n != RES_CODE_LEN || strncmp(w, "res", 3) != 0)
        return 0;
    char code[RES_CODE_LEN + 1] = "RES";
    int digits = 0;
    for (size_t i = 3; i < n; i++) {
        if (!code_char(w[i], &code[i]))
            return 0;
        digits += w[i] >= '0' && w[i] <= '9';
    }
    if (!digits)
        return 0; /* "reservacion"-like words of 13 letters are not codes */
    code[RES_CODE_LEN] = '\0';
    if (!ts->code[0])
        memcpy(ts->code, code, sizeof code);
    return 1;
}

/* "12/1", "12-01-2027", "12/1/27": 0 and the parts, or -1. */
static int parse_dm(const char *w, size_t n, int *d, int *m, int *y)
{
    char sep = 0;
    int parts[3] = {-1, -1, -1}, np = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && w[i] >= '0' && w[i] <= '9')
            continue;
        if (i < n) {
            if (w[i] != '/' && w[i] != '-')
                return -1;
            if (sep && w[i] != sep)
                return -1;
            sep = w[i];
        }
        if (np >= 3 || i - start < 1 || i - start > 4)
            return -1;
        parts[np++] = parse_digits(w + start, i - start);
        start = i + 1;
    }
    if (np < 2)
        return -1;
    *d = parts[0];
    *m = parts[1];
    *y = np == 3 ? parts[2] : 0;
    if (*y > 0 && *y < 100)
        *y += 2000;
    if (*d < 1 || *d > 31 || *m < 1 || *m > 12 || (np == 3 && (*y < 2000 || *y > 2200)))
        return -1;
    return 0;
}

static void push_raw(struct toks *ts, char *w, size_t n, int depth);

/* Splits at digit/letter boundaries: "4personas" -> "4" "personas"; "1ro" -> "1". */
static void push_mixed(struct toks *ts, const char *w, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        int digit = w[i] >= '0' && w[i] <= '9';
        while (j < n && ((w[j] >= '0' && w[j] <= '9') == digit))
            j++;
        if (!digit && i > 0 && j - i <= 3) {
            /* an ordinal suffix after a number: 1ro 1ero 1er 2da 3ra 1o */
            static const char *const suffixes[] = {"ro", "ero", "er", "ra", "da", "do", "to", "ta",
                                                   "o",  "a",   "vo", "va", "mo", "ma", "no", "na"};
            int skip = 0;
            for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes; k++)
                if (strlen(suffixes[k]) == j - i && strncmp(w + i, suffixes[k], j - i) == 0)
                    skip = 1;
            if (skip) {
                i = j;
                continue;
            }
        }
        push_word(ts, w + i, j - i);
        i = j;
    }
}

static void push_raw(struct toks *ts, char *w, size_t n, int depth)
{
    while (n > 0 && (w[0] == '/' || w[0] == '-' || w[0] == '+')) {
        if (w[0] == '+' && depth == 0)
            push_word(ts, "y", 1);
        w++;
        n--;
    }
    while (n > 0 && (w[n - 1] == '/' || w[n - 1] == '-' || w[n - 1] == '+'))
        n--;
    if (n == 0)
        return;
    if (take_code(ts, w, n))
        return;
    if (memchr(w, '/', n) || memchr(w, '-', n) || memchr(w, '+', n)) {
        int d, m, y;
        if (parse_dm(w, n, &d, &m, &y) == 0) {
            struct tok *t = push(ts);
            if (t) {
                t->dd = d;
                t->mm = m;
                t->yy = y;
            }
            return;
        }
        /* "12-15" (a range of days), "2+2" (adults and children), "fin-de-semana" */
        if (depth > 0)
            return;
        if (memchr(w, '/', n) && strspn(w, "0123456789/") >= n) {
            ts->bad_date = 1; /* "15/13", "32/1": shaped like a date, not one */
            return;
        }
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            while (j < n && w[j] != '/' && w[j] != '-' && w[j] != '+')
                j++;
            push_raw(ts, w + i, j - i, depth + 1);
            if (j < n) {
                if (w[j] == '+')
                    push_word(ts, "y", 1);
                else if (w[j] == '-' && j > 0 && w[j - 1] >= '0' && w[j - 1] <= '9')
                    push_word(ts, "al", 2);
            }
            i = j + 1;
        }
        return;
    }
    push_mixed(ts, w, n);
}

static int is(const struct tok *t, const char *w)
{
    return strcmp(t->w, w) == 0;
}

/* Joins "fin de semana" and "pasado mañana" into one token each. */
static void merge_phrases(struct toks *ts)
{
    int o = 0;
    for (int i = 0; i < ts->n; i++) {
        struct tok *t = &ts->t[i];
        if (is(t, "fin") && i + 2 < ts->n && is(&ts->t[i + 1], "de") &&
            (is(&ts->t[i + 2], "semana") || is(&ts->t[i + 2], "semanas"))) {
            snprintf(t->w, WORD_MAX, "finde");
            i += 2;
        } else if (is(t, "fin") && i + 1 < ts->n &&
                   (is(&ts->t[i + 1], "semana") || is(&ts->t[i + 1], "sem"))) {
            snprintf(t->w, WORD_MAX, "finde");
            i += 1;
        } else if (is(t, "pasado") && i + 1 < ts->n && is(&ts->t[i + 1], "manana")) {
            snprintf(t->w, WORD_MAX, "pasadomanana");
            i += 1;
        }
        ts->t[o++] = *t;
    }
    ts->n = o;
}

static void tokenize(const char *text, size_t len, struct toks *ts)
{
    char norm[NORM_MAX];
    size_t n = normalize_chars(text, len, norm, sizeof norm, 1);
    ts->n = 0;
    ts->code[0] = '\0';
    ts->bad_date = 0;
    size_t i = 0;
    while (i < n && ts->n < NLU_MAX_TOKENS) {
        while (i < n && norm[i] == ' ')
            i++;
        size_t j = i;
        while (j < n && norm[j] != ' ')
            j++;
        if (j > i) {
            /* a word longer than WORD_MAX is read only for a code or date; otherwise cut */
            push_raw(ts, norm + i, j - i, 0);
        }
        i = j;
    }
    merge_phrases(ts);
}

/* --------------------------------------------------------------------------------------- matching */

static int has(const struct toks *ts, const char *w)
{
    for (int i = 0; i < ts->n; i++)
        if (is(&ts->t[i], w))
            return 1;
    return 0;
}

static int has_prefix(const struct toks *ts, const char *p)
{
    size_t n = strlen(p);
    for (int i = 0; i < ts->n; i++)
        if (strncmp(ts->t[i].w, p, n) == 0)
            return 1;
    return 0;
}

/* The words of `phrase` (space-separated) appear consecutively. */
static int seq(const struct toks *ts, const char *phrase)
{
    char words[8][WORD_MAX];
    int nw = 0;
    const char *p = phrase;
    while (*p && nw < 8) {
        size_t l = strcspn(p, " ");
        if (l >= WORD_MAX)
            return 0;
        memcpy(words[nw], p, l);
        words[nw++][l] = '\0';
        p += l;
        while (*p == ' ')
            p++;
    }
    for (int i = 0; i + nw <= ts->n; i++) {
        int k = 0;
        while (k < nw && is(&ts->t[i + k], words[k]))
            k++;
        if (k == nw)
            return 1;
    }
    return 0;
}

static int tok_is_any(const struct tok *t, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(t->w, *list) == 0)
            return 1;
    return 0;
}

static const char *const person_words[] = {
    "persona", "personas",    "adulto",    "adultos",   "adulta", "adultas", "nino",   "ninos",
    "nina",    "ninas",       "nene",      "nenes",     "nena",   "nenas",   "chico",  "chicos",
    "chica",   "chicas",      "menor",     "menores",   "mayor",  "mayores", "grande", "grandes",
    "pax",     "huesped",     "huespedes", "bebe",      "bebes",  "amigos",  "amigas", "pibes",
    "gente",   "integrantes", "viajeros",  "ocupantes", NULL};

static const char *const length_nights[] = {"noche", "noches", "dia", "dias", NULL};
static const char *const length_weeks[] = {"semana", "semanas", NULL};

static int is_month_tok(const struct tok *t)
{
    return t->w[0] && month_of(t->w) > 0;
}

/* ------------------------------------------------------------------------------------------- dates */

enum item_kind { IT_DMY, IT_DAY, IT_WEEKDAY, IT_REL, IT_WEEKEND };
enum item_role { ROLE_NONE, ROLE_IN, ROLE_OUT };

struct item {
    enum item_kind kind;
    int d, m, y; /* IT_DMY (y 0 = none), IT_DAY (d) */
    int wday;    /* IT_WEEKDAY */
    int rel;     /* IT_REL: days after today */
    int next;    /* IT_WEEKEND: "que viene" */
    int longw;   /* IT_WEEKEND: "largo" */
    enum item_role role;
};

static const char *const in_markers[] = {"del",      "desde",       "entrada",   "llegamos",   "llego",
                                         "llegaria", "llegariamos", "ingreso",   "ingresamos", "entramos",
                                         "llegando", "arrancando",  "empezando", "partir",     NULL};
static const char *const out_markers[] = {"hasta",    "al",      "salida", "vamos",     "voy", "salimos",
                                          "volvemos", "regreso", "egreso", "retiramos", NULL};

static enum item_role role_before(const struct toks *ts, int i)
{
    /* "el" and "de" may stand between the marker and the date: "desde el 12", "a partir del 5" */
    for (int k = i - 1; k >= 0 && k >= i - 3; k--) {
        const struct tok *t = &ts->t[k];
        if (tok_is_any(t, in_markers))
            return ROLE_IN;
        if (tok_is_any(t, out_markers)) {
            /* "nos vamos a ..." is an exit; "vamos 4" is not here (a number, not a date) */
            return ROLE_OUT;
        }
        if (!is(t, "el") && !is(t, "de") && !is(t, "dia") && !is(t, "a") && !is(t, "nos") && !is(t, "me") &&
            !is(t, "la") && !is(t, "los") && !is(t, "las") && !is(t, "y"))
            break;
    }
    return ROLE_NONE;
}

/* Words before a bare number that make it a day of the month. */
static int day_context_before(const struct toks *ts, int i)
{
    static const char *const before[] = {"el",    "del",    "al",   "desde",   "hasta",  "dia",
                                         "entre", "partir", "dias", "entrada", "salida", NULL};
    return i > 0 && tok_is_any(&ts->t[i - 1], before);
}

/* A bare number followed by "al", "a", "hasta" or "y" and another date: "12 al 15/1". */
static int day_context_after(const struct toks *ts, int i)
{
    if (i + 2 >= ts->n)
        return 0;
    const struct tok *a = &ts->t[i + 1], *b = &ts->t[i + 2];
    if (!(is(a, "al") || is(a, "a") || is(a, "hasta")))
        return 0;
    if (b->dd > 0 || (b->digits && b->num >= 1 && b->num <= 31))
        return 1;
    return is(b, "el") && i + 3 < ts->n && ts->t[i + 3].digits;
}

static int is_length_after(const struct toks *ts, int i)
{
    return i + 1 < ts->n &&
           (tok_is_any(&ts->t[i + 1], length_nights) || tok_is_any(&ts->t[i + 1], length_weeks));
}

static int is_person_after(const struct toks *ts, int i)
{
    return i + 1 < ts->n && tok_is_any(&ts->t[i + 1], person_words);
}

/* A year right after position i ("de 2027", "del 2027", "2027"): the year, and *skip tokens consumed. */
static int year_after(const struct toks *ts, int i, int *skip)
{
    int k = i + 1;
    if (k < ts->n && (is(&ts->t[k], "de") || is(&ts->t[k], "del")))
        k++;
    if (k < ts->n && ts->t[k].digits && ((ts->t[k].num >= 2000 && ts->t[k].num <= 2200))) {
        *skip = k - i;
        return ts->t[k].num;
    }
    *skip = 0;
    return 0;
}

static int collect_items(struct toks *ts, struct item *items, int max, int *nights)
{
    int n = 0;
    *nights = 0;
    for (int i = 0; i < ts->n && n < max; i++) {
        struct tok *t = &ts->t[i];
        if (t->used)
            continue;
        struct item it = {0};
        int found = 0;
        /* lengths first: "3 noches", "una semana", "dos semanas" */
        if (t->num > 0 && is_length_after(ts, i) && !(i > 0 && is(&ts->t[i - 1], "el"))) {
            int weeks = tok_is_any(&ts->t[i + 1], length_weeks);
            int v = weeks ? t->num * 7 : t->num;
            if (v >= 1 && v <= NLU_MAX_NIGHTS && !*nights)
                *nights = v;
            t->used = ts->t[i + 1].used = 1;
            i++;
            continue;
        }
        if (t->dd > 0) {
            it.kind = IT_DMY;
            it.d = t->dd;
            it.m = t->mm;
            it.y = t->yy;
            t->used = 1;
            found = 1;
        } else if (t->num >= 1 && t->num <= 31 && (t->digits || is(t, "primero")) &&
                   ((i + 1 < ts->n && is_month_tok(&ts->t[i + 1])) ||
                    (i + 2 < ts->n && is(&ts->t[i + 1], "de") && is_month_tok(&ts->t[i + 2])))) {
            int mi = is_month_tok(&ts->t[i + 1]) ? i + 1 : i + 2;
            it.kind = IT_DMY;
            it.d = t->num;
            it.m = month_of(ts->t[mi].w);
            int skip = 0;
            it.y = year_after(ts, mi, &skip);
            for (int k = i; k <= mi + skip; k++)
                ts->t[k].used = 1;
            found = 1;
            it.role = role_before(ts, i);
            items[n++] = it;
            i = mi + skip;
            continue;
        } else if (t->digits && t->num >= 1 && t->num <= 31 && !is_person_after(ts, i) &&
                   !is_length_after(ts, i) && (day_context_before(ts, i) || day_context_after(ts, i))) {
            it.kind = IT_DAY;
            it.d = t->num;
            t->used = 1;
            found = 1;
        } else if (t->w[0] && weekday_of(t->w) >= 0) {
            it.kind = IT_WEEKDAY;
            it.wday = weekday_of(t->w);
            t->used = 1;
            found = 1;
        } else if (is(t, "hoy")) {
            it.kind = IT_REL;
            it.rel = 0;
            t->used = 1;
            found = 1;
        } else if (is(t, "manana") && !(i > 0 && (is(&ts->t[i - 1], "la") || is(&ts->t[i - 1], "esta")))) {
            it.kind = IT_REL;
            it.rel = 1;
            t->used = 1;
            found = 1;
        } else if (is(t, "pasadomanana")) {
            it.kind = IT_REL;
            it.rel = 2;
            t->used = 1;
            found = 1;
        } else if (is(t, "finde")) {
            it.kind = IT_WEEKEND;
            t->used = 1;
            for (int k = i - 2; k <= i + 3 && k < ts->n; k++) {
                if (k < 0 || k == i)
                    continue;
                const struct tok *m = &ts->t[k];
                if (is(m, "largo") || is(m, "xl"))
                    it.longw = 1;
                if (is(m, "proximo") || is(m, "otro") || is(m, "siguiente") ||
                    (is(m, "que") && k + 1 < ts->n && is(&ts->t[k + 1], "viene") && k > i))
                    it.next = 1;
            }
            found = 1;
        }
        if (found) {
            it.role = role_before(ts, i);
            items[n++] = it;
        }
    }
    return n;
}

static int date_cmp(struct date a, struct date b)
{
    long d = dates_diff_days(b, a);
    return d < 0 ? -1 : d > 0;
}

/* The first date with day d and month m on or after `from` (strictly after when `strict`). */
static int next_dm(int d, int m, struct date from, int strict, struct date *out)
{
    for (int y = from.y; y <= from.y + 8; y++) {
        struct date c = {y, m, d};
        if (!dates_valid(c))
            continue;
        int cmp = date_cmp(c, from);
        if (cmp > 0 || (cmp == 0 && !strict)) {
            *out = c;
            return 0;
        }
    }
    return -1;
}

/* The first date with day d on or after `from` (strictly after when `strict`). */
static int next_day(int d, struct date from, int strict, struct date *out)
{
    int y = from.y, m = from.m;
    for (int k = 0; k < 14; k++) {
        struct date c = {y, m, d};
        if (dates_valid(c)) {
            int cmp = date_cmp(c, from);
            if (cmp > 0 || (cmp == 0 && !strict)) {
                *out = c;
                return 0;
            }
        }
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return -1;
}

/* The Friday that starts "este finde" (may be yesterday when today is Saturday). */
static struct date weekend_friday(struct date today)
{
    int wd = dates_weekday(today);
    long add = wd == 6 ? -1 : wd == 0 ? 5 : 5 - wd;
    return dates_add_days(today, add);
}

/* Resolves an item to a date on or after `from` (strictly after when `strict`). */
static int resolve(const struct item *it, struct date today, struct date from, int strict, struct date *out)
{
    switch (it->kind) {
    case IT_DMY:
        if (it->y) {
            struct date c = {it->y, it->m, it->d};
            if (!dates_valid(c))
                return -1;
            *out = c;
            return 0;
        }
        return next_dm(it->d, it->m, from, strict, out);
    case IT_DAY:
        return next_day(it->d, from, strict, out);
    case IT_WEEKDAY: {
        int wd = dates_weekday(from);
        int add = (it->wday - wd + 7) % 7;
        if (add == 0)
            add = 7; /* strictly after, for weekdays always */
        *out = dates_add_days(from, add);
        return 0;
    }
    case IT_REL:
        *out = dates_add_days(today, it->rel);
        return 0;
    case IT_WEEKEND:
        return -1;
    }
    return -1;
}

static void extract_dates(struct toks *ts, struct date today, struct nlu_result *r)
{
    struct item items[8];
    int nights = 0;
    int n = collect_items(ts, items, 8, &nights);
    r->nights = nights;
    if (n == 0)
        return;
    struct item *a = &items[0], *b = n > 1 ? &items[1] : NULL;
    struct date in, out;
    if (a->kind == IT_WEEKEND) {
        struct date fri = weekend_friday(today);
        if (a->next)
            fri = dates_add_days(fri, 7);
        in = date_cmp(fri, today) < 0 ? today : fri;
        out = dates_add_days(fri, a->longw ? 3 : 2);
        if (nights && !a->longw)
            out = dates_add_days(in, nights);
        r->check_in = in;
        r->check_out = out;
        r->has_check_in = r->has_check_out = 1;
        return;
    }
    /* "del 12 al 15 de enero": the first date takes the second's month (the month before when its day is
     * larger: "del 28 al 3 de febrero") */
    if (b && a->kind == IT_DAY && b->kind == IT_DMY) {
        a->kind = IT_DMY;
        a->m = b->m;
        a->y = b->y;
        if (a->d > b->d) {
            if (--a->m == 0) {
                a->m = 12;
                if (a->y)
                    a->y--;
            }
        }
    }
    if (!b && a->role == ROLE_OUT) {
        if (resolve(a, today, today, 1, &out) < 0) {
            r->invalid_date = 1;
            return;
        }
        r->check_out = out;
        r->has_check_out = 1;
        return;
    }
    if (resolve(a, today, today, 0, &in) < 0) {
        r->invalid_date = 1;
        return;
    }
    r->check_in = in;
    r->has_check_in = 1;
    if (b && b->kind != IT_WEEKEND) {
        if (resolve(b, today, in, 1, &out) < 0 || date_cmp(out, in) <= 0) {
            r->invalid_date = 1;
            r->has_check_in = 0;
            return;
        }
        r->check_out = out;
        r->has_check_out = 1;
    } else if (nights) {
        r->check_out = dates_add_days(in, nights);
        r->has_check_out = 1;
    }
    if (r->has_check_out && dates_diff_days(r->check_in, r->check_out) > NLU_MAX_NIGHTS) {
        r->invalid_date = 1;
        r->has_check_in = r->has_check_out = 0;
    }
}

/* ------------------------------------------------------------------------------------------ guests */

static int small_number(const struct tok *t)
{
    return !t->used && t->num >= 1 && t->num <= 999 && t->dd == 0;
}

static void extract_guests(struct toks *ts, struct nlu_result *r)
{
    static const char *const we_are[] = {"somos",    "seriamos", "seremos",    "vamos",   "vendriamos",
                                         "viajamos", "iriamos",  "estariamos", "venimos", NULL};
    long groups = 0, explicit_n = 0;
    int have_groups = 0;
    /* groups first ("somos 2 adultos y 1 niño" is 3, not 2); "con una persona" is someone to talk to */
    for (int i = 0; i < ts->n; i++) {
        struct tok *t = &ts->t[i];
        if (small_number(t) && is_person_after(ts, i) && !(i > 0 && is(&ts->t[i - 1], "con") && !t->digits)) {
            groups += t->num;
            have_groups = 1;
            t->used = ts->t[i + 1].used = 1;
        }
    }
    for (int i = 0; i < ts->n && !have_groups && !explicit_n; i++) {
        struct tok *t = &ts->t[i];
        int k = -1;
        if (tok_is_any(t, we_are)) {
            k = i + 1;
            if (k + 1 < ts->n && is(&ts->t[k], "a") && is(&ts->t[k + 1], "ser"))
                k += 2;
        } else if (is(t, "para") || is(t, "pax") || is(t, "huespedes") || is(t, "personas")) {
            k = i + 1;
        } else if (is(t, "familia") && i + 2 < ts->n && is(&ts->t[i + 1], "de")) {
            k = i + 2;
        }
        if (k >= 0 && k < ts->n && small_number(&ts->t[k]) && !is_length_after(ts, k) &&
            !(k + 1 < ts->n && (is_month_tok(&ts->t[k + 1]) || is(&ts->t[k + 1], "de")))) {
            explicit_n = ts->t[k].num;
            ts->t[k].used = 1;
        }
    }
    long g = have_groups ? groups : explicit_n;
    if (!g && (has(ts, "pareja") || seq(ts, "mi novia y yo") || seq(ts, "mi novio y yo") ||
               seq(ts, "mi esposa y yo") || seq(ts, "mi marido y yo")))
        g = 2;
    if (!g && (seq(ts, "solo yo") || seq(ts, "yo solo") || seq(ts, "yo sola") || seq(ts, "voy solo") ||
               seq(ts, "voy sola")))
        g = 1;
    if (g >= 1 && g <= NLU_MAX_GUESTS)
        r->guests = (int)g;
}

/* ------------------------------------------------------------------------------------------ option */

static void extract_option(struct toks *ts, struct nlu_result *r)
{
    for (int i = 0; i < ts->n; i++) {
        struct tok *t = &ts->t[i];
        if (t->used)
            continue;
        int ord = ordinal_of(t->w);
        if (ord) {
            r->option = ord;
            t->used = 1;
            return;
        }
        if ((is(t, "la") || is(t, "opcion") || is(t, "numero") || is(t, "nro") || is(t, "num") ||
             is(t, "op")) &&
            i + 1 < ts->n) {
            struct tok *v = &ts->t[i + 1];
            if (is(v, "numero") || is(v, "opcion") || is(v, "nro")) {
                if (i + 2 >= ts->n)
                    continue;
                v = &ts->t[i + 2];
            }
            if (!v->used && v->num >= 1 && v->num <= 10 && v->dd == 0 &&
                !is_person_after(ts, (int)(v - ts->t)) && !is_length_after(ts, (int)(v - ts->t))) {
                r->option = v->num;
                v->used = 1;
                return;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ intent */

static const char *const affirm[] = {"si",       "dale",     "ok",    "listo",     "perfecto",  "genial",
                                     "joya",     "bueno",    "claro", "obvio",     "buenisimo", "va",
                                     "sisi",     "confirmo", "vamos", "excelente", "barbaro",   "buenisima",
                                     "porfavor", "mejor",    NULL};
static const char *const fillers[] = {
    "si",    "dale",  "ok",   "listo",    "de",     "una",   "porfavor",  "bueno", "gracias",
    "va",    "sisi",  "joya", "perfecto", "genial", "claro", "me",        "la",    "lo",
    "quedo", "vamos", "con",  "esa",      "esta",   "hola",  "buenisimo", NULL};

static enum nlu_intent decide(const struct toks *ts, const struct nlu_result *r)
{
    int entities = r->has_check_in || r->has_check_out || r->nights || r->guests || r->invalid_date;
    int human = seq(ts, "hablar con") || has(ts, "humano") || has(ts, "operador") || has(ts, "operadora") ||
                has(ts, "asesor") || has(ts, "asesora") || has(ts, "agente") || seq(ts, "con una persona") ||
                seq(ts, "persona real") || seq(ts, "con alguien") || seq(ts, "me atienda") ||
                seq(ts, "me llame") || seq(ts, "llamenme") || has(ts, "encargado") || has(ts, "encargada") ||
                has(ts, "dueno") || has(ts, "duena") || seq(ts, "atencion al cliente") ||
                seq(ts, "quiero hablar") || seq(ts, "comunicarme con") || seq(ts, "persona de verdad");
    if (human)
        return NLU_HUMAN;
    if (has_prefix(ts, "cancel") || has(ts, "anular") || has(ts, "anulo") || has(ts, "anula") ||
        has(ts, "anulacion") || seq(ts, "dar de baja") || seq(ts, "de baja"))
        return NLU_CANCEL;
    if ((has(ts, "cambiar") || has(ts, "cambio") || has(ts, "otras") || has(ts, "otra") ||
         has(ts, "mover")) &&
        (has(ts, "fecha") || has(ts, "fechas") || has(ts, "dias")) && !r->has_check_in)
        return NLU_CHANGE_DATES;
    int status = has(ts, "estado") || has(ts, "status") || seq(ts, "se confirmo") || has(ts, "confirmada") ||
                 has(ts, "confirmado") || has(ts, "acredito") || has(ts, "acreditado") ||
                 has(ts, "recibieron") || has(ts, "pague") || has(ts, "pagado") || has(ts, "pagada") ||
                 seq(ts, "como va") || seq(ts, "ver mi reserva") || seq(ts, "consultar mi reserva");
    if ((status || r->mine || ts->code[0]) && !(entities && !r->mine && !ts->code[0]))
        return NLU_STATUS;
    int help = has(ts, "ayuda") || has(ts, "ayudame") || has(ts, "help") || has(ts, "menu") ||
               seq(ts, "como funciona") || seq(ts, "que puedo") || seq(ts, "que podes") || has(ts, "info") ||
               has(ts, "instrucciones") || has(ts, "comandos");
    if (help && !entities)
        return NLU_HELP;
    int book = has(ts, "reservar") || has(ts, "reservo") || has(ts, "reservame") || has(ts, "reservala") ||
               has(ts, "reservalo") || has(ts, "reservamos") || has(ts, "reservemos") ||
               has(ts, "confirmo") || has(ts, "confirmar") || has(ts, "confirmamos") ||
               seq(ts, "me la quedo") || seq(ts, "me lo quedo") || seq(ts, "la quiero") ||
               seq(ts, "hacer una reserva") || seq(ts, "quiero una reserva") || seq(ts, "de una");
    if (!book && ts->n > 0 && ts->n <= 4 && tok_is_any(&ts->t[0], affirm)) {
        int only = 1;
        for (int i = 0; i < ts->n; i++)
            if (!tok_is_any(&ts->t[i], fillers) && !tok_is_any(&ts->t[i], affirm))
                only = 0;
        book = only;
    }
    if (book)
        return entities && !r->option ? NLU_AVAILABILITY : NLU_BOOK;
    if (r->option)
        return NLU_CHOOSE;
    int avail = has(ts, "lugar") || has(ts, "lugares") || has(ts, "disponible") || has(ts, "disponibles") ||
                has(ts, "disponibilidad") || has(ts, "libre") || has(ts, "libres") || has(ts, "precio") ||
                has(ts, "precios") || has(ts, "tarifa") || has(ts, "tarifas") || has(ts, "costo") ||
                has(ts, "cuesta") || has(ts, "costaria") || has(ts, "saldria") || seq(ts, "cuanto sale") ||
                has(ts, "valor") || has(ts, "cotizacion") || has(ts, "presupuesto") || has(ts, "cabana") ||
                has(ts, "cabanas") || has(ts, "alojamiento") || has(ts, "departamento") ||
                has(ts, "quedan") || has(ts, "cuanto") || has(ts, "consulta") || has(ts, "consultar") ||
                has(ts, "hay") || has(ts, "tienen") || has(ts, "vacante") || has(ts, "vacantes") ||
                has(ts, "reserva") || has(ts, "reservas");
    if (avail || entities)
        return NLU_AVAILABILITY;
    if (has(ts, "gracias") || has(ts, "chau") || has(ts, "chao") || has(ts, "adios") ||
        seq(ts, "hasta luego") || seq(ts, "nos vemos") || has(ts, "bye") || seq(ts, "hasta pronto") ||
        has(ts, "saludos"))
        return NLU_THANKS;
    if (has(ts, "hola") || has(ts, "buenas") || seq(ts, "buen dia") || seq(ts, "buenos dias") ||
        seq(ts, "que tal") || has(ts, "hey") || has(ts, "holaa") || seq(ts, "como estas") ||
        seq(ts, "como andas"))
        return NLU_GREET;
    if (ts->n > 0 && ts->n <= 4 && (is(&ts->t[0], "no") || seq(ts, "mejor no") || has(ts, "nah")))
        return NLU_DENY;
    return NLU_UNKNOWN;
}

void nlu_parse(const char *text, size_t len, struct date today, struct nlu_result *out)
{
    struct toks ts;
    memset(out, 0, sizeof *out);
    if (!text)
        len = 0;
    size_t cut = text ? utf8_cut(text, len, NLU_MAX_TEXT) : 0;
    out->truncated = cut < len;
    tokenize(text ? text : "", cut, &ts);
    extract_dates(&ts, today, out);
    if (ts.bad_date)
        out->invalid_date = 1;
    extract_guests(&ts, out);
    extract_option(&ts, out);
    memcpy(out->code, ts.code, sizeof out->code);
    out->mine = seq(&ts, "mi reserva") || seq(&ts, "mis reservas") || seq(&ts, "la reserva") ||
                seq(&ts, "nuestra reserva") || seq(&ts, "mi reservacion") || seq(&ts, "reserva que hice") ||
                seq(&ts, "reserva que tengo") || seq(&ts, "mi estadia");
    if (ts.n == 1 && ts.t[0].digits && ts.t[0].num >= 0 && ts.t[0].num <= 999 && !out->has_check_in)
        out->number = ts.t[0].num;
    out->intent = decide(&ts, out);
}

static const char *const intent_names[NLU_INTENT_COUNT] = {
    "unknown", "greet", "availability", "choose", "book",         "cancel",
    "status",  "help",  "human",        "thanks", "change_dates", "deny",
};

const char *nlu_intent_name(enum nlu_intent intent)
{
    if ((int)intent < 0 || intent >= NLU_INTENT_COUNT)
        return "unknown";
    return intent_names[intent];
}

int nlu_intent_from_name(const char *name)
{
    for (int i = 0; i < NLU_INTENT_COUNT; i++)
        if (strcmp(intent_names[i], name) == 0)
            return i;
    return -1;
}
