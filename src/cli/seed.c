/* seed.c - `cabanas seed`: three demo accommodations, created only if none with those names exists,
 * so running it twice changes nothing. Prints {"accommodations":[{"id":…,"name":…,"created":bool},…]}. */
#include "cli.h"

#include "../store/booking_store.h"
#include "../store/migrate.h"
#include "domain/pricing.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct demo {
    const char *name, *type, *description, *amenities;
    int capacity;
    long long base_cents;
    int min_nights;
};

static const struct demo demos[] = {
    {"Cabaña del Bosque", "cabin", "Cabaña de madera entre los pinos, con hogar a leña.",
     "[\"wifi\",\"hogar\",\"parrilla\",\"estacionamiento\"]", 4, 4500000, 2},
    {"Cabaña del Lago", "cabin", "Vista al lago, deck con parrilla y kayaks.",
     "[\"wifi\",\"parrilla\",\"kayaks\",\"vista al lago\"]", 6, 6500000, 2},
    {"Departamento Centro", "apartment", "Departamento luminoso a dos cuadras de la plaza.",
     "[\"wifi\",\"aire acondicionado\",\"cocina equipada\"]", 2, 3000000, 1},
};

int cli_seed(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_parse(argc, argv, NULL, NULL, &cfg);
    if (rc)
        return rc;
    char err[512];
    struct db *db = NULL;
    if (db_open(&cfg, &db, err, sizeof err) != DB_OK) {
        fprintf(stderr, "cabanas seed: %s\n", err);
        return 1;
    }
    int exit_code = 1;
    struct db_conn *c = NULL;
    int current = 0;
    if (db_acquire(db, &c) != DB_OK) {
        fprintf(stderr, "cabanas seed: cannot connect to the database\n");
        goto out;
    }
    rc = migrate_current(c, &current);
    db_release(db, c);
    if (rc != DB_OK || current < migrate_latest(db_engine_of(db))) {
        fprintf(stderr, "cabanas seed: the schema is not current; run `cabanas migrate` first\n");
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof demos / sizeof *demos; i++) {
        const struct demo *d = &demos[i];
        long long id = 0;
        int found = 0;
        if (store_accommodation_exists_named(db, d->name, &id, &found) != DB_OK) {
            fprintf(stderr, "cabanas seed: cannot read accommodations\n");
            json_decref(list);
            goto out;
        }
        if (!found) {
            static struct accommodation a; /* ~15 KB: not on the stack of a short CLI, no need either */
            memset(&a, 0, sizeof a);
            snprintf(a.name, sizeof a.name, "%s", d->name);
            snprintf(a.type, sizeof a.type, "%s", d->type);
            snprintf(a.description, sizeof a.description, "%s", d->description);
            snprintf(a.amenities, sizeof a.amenities, "%s", d->amenities);
            snprintf(a.photos, sizeof a.photos, "[]");
            snprintf(a.policies, sizeof a.policies,
                     "{\"check_in_time\":\"14:00\",\"check_out_time\":\"10:00\"}");
            snprintf(a.currency, sizeof a.currency, "ARS");
            a.capacity = d->capacity;
            a.base_cents = d->base_cents;
            a.weekend_multiplier_bp = 12000;
            a.weekend_mask = PRICING_DEFAULT_WEEKEND_NIGHTS;
            a.min_nights = d->min_nights;
            a.max_nights = 30;
            a.active = 1;
            if (store_accommodation_create(db, &a, (long long)time(NULL), "cli:seed") != DB_OK) {
                fprintf(stderr, "cabanas seed: cannot create %s\n", d->name);
                json_decref(list);
                goto out;
            }
            id = a.id;
        }
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "name", d->name, "created", !found));
    }
    json_t *outj = json_pack("{s:o}", "accommodations", list);
    char *text = json_dumps(outj, JSON_COMPACT | JSON_ENSURE_ASCII);
    printf("%s\n", text);
    free(text);
    json_decref(outj);
    exit_code = 0;
out:
    db_close(db);
    return exit_code;
}
