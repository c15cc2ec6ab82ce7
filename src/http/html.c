/* html.c - placeholder until written; see html.h. */
#include "http/http.h"
