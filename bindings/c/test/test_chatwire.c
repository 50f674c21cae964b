/*
 * Walking-skeleton test of the chatwire C API: links against libchatwire_ffi, calls every
 * function in include/chatwire.h, and checks values, error statuses for NULL / invalid
 * arguments (which must be reported, not crash) and the last-error messages.
 *
 * Usage: test_chatwire EXPECTED_VERSION
 * Prints "N passed, N failed" and exits non-zero if any check failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatwire.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (cond) {                                                       \
            passed++;                                                     \
        } else {                                                          \
            failed++;                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                     \
        }                                                                 \
    } while (0)

/* Checks that the last error message equals `want`, and frees it. */
static void check_last_error(const char *want, int line) {
    char *msg = cw_last_error_message();
    if (msg != NULL && strcmp(msg, want) == 0) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: last error is \"%s\", want \"%s\"\n", __FILE__, line,
                msg ? msg : "(null)", want);
    }
    cw_string_free(msg);
}
#define CHECK_LAST_ERROR(want) check_last_error((want), __LINE__)

static void test_version(const char *expected) {
    char *v = NULL;
    CHECK(cw_version(&v) == CW_STATUS_OK);
    CHECK(v != NULL && strcmp(v, expected) == 0);
    if (v != NULL && strcmp(v, expected) != 0) {
        fprintf(stderr, "version is \"%s\", want \"%s\"\n", v, expected);
    }
    cw_string_free(v);

    CHECK(cw_version(NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_version: argument `out` must not be NULL");
}

static void test_default_delay(void) {
    uint64_t ms = 0;
    CHECK(cw_default_delay_ms(3, 0.5, &ms) == CW_STATUS_OK);
    CHECK(ms == 4000); /* 1 s * 2^2, unit 0.5 = no jitter */
    CHECK(cw_default_delay_ms(100, 0.5, &ms) == CW_STATUS_OK);
    CHECK(ms == 30000); /* capped at 30 s */
    CHECK(cw_default_delay_ms(1, 1.0, &ms) == CW_STATUS_OK);
    CHECK(ms == 1200); /* +20 % jitter */

    CHECK(cw_default_delay_ms(1, 0.5, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_default_delay_ms: argument `out` must not be NULL");

    ms = 77;
    CHECK(cw_default_delay_ms(1, NAN, &ms) == CW_STATUS_INVALID_INPUT);
    CHECK(ms == 77); /* untouched on failure */
    CHECK_LAST_ERROR("cw_default_delay_ms: unit must be a finite number in [0, 1], got NaN");

    /* a succeeding call leaves the last error in place */
    CHECK(cw_default_delay_ms(2, 0.5, &ms) == CW_STATUS_OK && ms == 2000);
    CHECK_LAST_ERROR("cw_default_delay_ms: unit must be a finite number in [0, 1], got NaN");
}

static void test_backoff_object(void) {
    cw_backoff *b = NULL;
    uint64_t ms = 0;
    CHECK(cw_backoff_new(100, 1000, 0.0, &b) == CW_STATUS_OK);
    CHECK(b != NULL);
    CHECK(cw_backoff_delay_ms(b, 1, 0.5, &ms) == CW_STATUS_OK && ms == 100);
    CHECK(cw_backoff_delay_ms(b, 3, 0.5, &ms) == CW_STATUS_OK && ms == 400);
    CHECK(cw_backoff_delay_ms(b, 30, 0.9, &ms) == CW_STATUS_OK && ms == 1000);

    CHECK(cw_backoff_delay_ms(b, 1, 0.5, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_backoff_delay_ms: argument `out` must not be NULL");
    CHECK(cw_backoff_delay_ms(b, 1, INFINITY, &ms) == CW_STATUS_INVALID_INPUT);
    CHECK_LAST_ERROR("cw_backoff_delay_ms: unit must be a finite number in [0, 1], got inf");
    cw_backoff_free(b);

    /* a NULL object is an error status, not a crash */
    ms = 5;
    CHECK(cw_backoff_delay_ms(NULL, 1, 0.5, &ms) == CW_STATUS_NULL_ARGUMENT);
    CHECK(ms == 5);
    CHECK_LAST_ERROR("cw_backoff_delay_ms: argument `backoff` must not be NULL");

    cw_backoff *bad = NULL;
    CHECK(cw_backoff_new(100, 0, 0.2, &bad) == CW_STATUS_INVALID_INPUT);
    CHECK(bad == NULL);
    CHECK_LAST_ERROR("cw_backoff_new: cap_ms must be greater than 0");
    CHECK(cw_backoff_new(100, 1000, 0.2, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_backoff_new: argument `out` must not be NULL");

    /* freeing NULL is a no-op */
    cw_backoff_free(NULL);
    cw_string_free(NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s EXPECTED_VERSION\n", argv[0]);
        return 2;
    }
    /* no call has failed on this thread yet */
    CHECK(cw_last_error_message() == NULL);
    test_version(argv[1]);
    test_default_delay();
    test_backoff_object();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
