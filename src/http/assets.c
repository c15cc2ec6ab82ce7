/* assets.c - placeholder until written; see http.h. */
#include "http/http.h"

const cw_http_route cw_http_asset_routes[] = {{0}};
