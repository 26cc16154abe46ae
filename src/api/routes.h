/* routes.h - the route table of the whole API. */
#ifndef CABANAS_ROUTES_H
#define CABANAS_ROUTES_H

#include "../http/router.h"

/* The table (static storage). With `test_endpoints` the /api/v1/_test/ routes are included. */
const struct route *routes_table(int test_endpoints, int *count);

#endif
