/* web_assets.h - the admin page's files, embedded at build time by tools/embed_web.sh (build/gen/). */
#ifndef CABANAS_WEB_ASSETS_H
#define CABANAS_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;         /* file name in web/admin/, e.g. "app.js" */
    const char *content_type; /* from the extension */
    const unsigned char *data;
    size_t len;
    const char *etag; /* strong, quoted: "\"<16 hex digits of SHA-256>\"" */
};

extern const struct web_asset *const web_assets[]; /* NULL-terminated */
extern const int web_assets_count;

#endif
