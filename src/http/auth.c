/* auth.c - placeholder until written; see http.h. */
#include "http/http.h"

const cw_http_route cw_http_auth_routes[] = {{0}};
