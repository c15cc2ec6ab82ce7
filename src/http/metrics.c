/* metrics.c - placeholder until written; see http.h. */
#include "http/http.h"

const cw_http_route cw_http_metrics_routes[] = {{0}};
