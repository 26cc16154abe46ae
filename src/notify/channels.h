/* channels.h - the delivery channels of the outbox. The table in channels.c is the one place a channel
 * is added: a name (the outbox row's `channel`), whether it is configured, and how to deliver one row.
 *
 * deliver() returns one of the OUTBOX_* results below; on anything but OUTBOX_SENT it writes a short
 * reason into err (shown by the admin API as last_error; never a secret, never the message body). On
 * OUTBOX_SENT it may write the provider's id of the message (Message-ID, wamid, preference id) into
 * provider_id. It runs on the worker thread and may block up to its own timeout. */
#ifndef CABANAS_CHANNELS_H
#define CABANAS_CHANNELS_H

#include "api/app.h"
#include "store/outbox_store.h"

#include <stddef.h>

#define OUTBOX_SENT 0
#define OUTBOX_RETRY 1     /* a temporary failure: again after a backoff, until OUTBOX_MAX_ATTEMPTS */
#define OUTBOX_FAILED (-1) /* a permanent failure: the message is dead at once */
#define OUTBOX_SKIP 2      /* nothing to send (no such recipient configured, no longer applies) */
#define OUTBOX_DEFER 3     /* not ready yet (the payment link): again in a moment, no attempt counted */

struct outbox_channel {
    const char *name;
    int (*enabled)(const struct config *); /* 0: every message of the channel is skipped */
    int (*deliver)(struct app *, const struct outbox_row *, char *provider_id, size_t, char *err, size_t);
};

/* The channel named `name`, or NULL. */
const struct outbox_channel *outbox_channel_find(const char *name);

/* Every channel (for health and docs); *n is the count. */
const struct outbox_channel *outbox_channels(int *n);

#endif
