/* server.c - placeholder until written; see http.h. */
#include "http/http.h"
