/*
 * Walking-skeleton test of the chatwire C API: links against libchatwire_ffi, calls every
 * function in include/chatwire.h, and checks values, error statuses for NULL / invalid
 * arguments (which must be reported, not crash) and the last-error messages.
 *
 * The client part talks to a running chatwire-mock (scripts/test-ffi starts one): a turn on
 * several dialects assembled from the pulled event JSON, close with a timeout, the statuses after
 * close, and NULL / invalid arguments on every client function.
 *
 * Usage: test_chatwire EXPECTED_VERSION MOCK_URL
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

/* Appends to `out` the text of a textDelta event JSON (or replaces it, for a replace update). */
static void apply_text_delta(const char *json, char *out, size_t cap) {
    if (strstr(json, "\"type\":\"textDelta\"") == NULL) return;
    const char *update = strstr(json, "\"update\":{");
    const char *text = update ? strstr(update, "\"text\":\"") : NULL;
    if (text == NULL) return;
    text += strlen("\"text\":\"");
    const char *end = strchr(text, '"');
    if (end == NULL) return;
    if (strncmp(update, "\"update\":{\"kind\":\"replace\"", 27) == 0) out[0] = '\0';
    size_t have = strlen(out), add = (size_t)(end - text);
    if (have + add + 1 > cap) return;
    memcpy(out + have, text, add);
    out[have + add] = '\0';
}

static void test_client_turn(const char *dialect, const char *url) {
    char options[512];
    snprintf(options, sizeof options, "{\"dialect\":\"%s\",\"baseUrl\":\"%s\"}", dialect, url);
    cw_client *c = NULL;
    CHECK(cw_client_new(options, &c) == CW_STATUS_OK && c != NULL);
    if (c == NULL) return;

    char *state = NULL;
    CHECK(cw_client_state(c, &state) == CW_STATUS_OK);
    CHECK(state != NULL && strcmp(state, "{\"kind\":\"disconnected\"}") == 0);
    cw_string_free(state);

    char *id = NULL;
    CHECK(cw_client_send(c, "hello", &id) == CW_STATUS_OK);
    CHECK(id != NULL && strlen(id) == 36);
    cw_string_free(id);

    char text[256] = "";
    int completed = 0, acked = 0;
    for (int i = 0; i < 500 && !(completed && acked); i++) {
        char *json = NULL;
        cw_status st = cw_client_next_event(c, 10000, &json);
        CHECK(st == CW_STATUS_OK);
        if (st != CW_STATUS_OK || json == NULL) break; /* error or 10 s without an event */
        apply_text_delta(json, text, sizeof text);
        if (strstr(json, "\"kind\":\"acked\"")) acked = 1;
        if (strstr(json, "\"type\":\"turnCompleted\"")) completed = 1;
        cw_string_free(json);
    }
    CHECK(completed);
    if (strcmp(text, "You said: hello") != 0) {
        fprintf(stderr, "%s: assembled \"%s\"\n", dialect, text);
    }
    CHECK(strcmp(text, "You said: hello") == 0);
    CHECK(acked); /* the messageStatus event of the message */

    CHECK(cw_client_cancel_turn(c) == CW_STATUS_OK);
    /* sent on native; a no-op on dialects without typing indicators */
    CHECK(cw_client_typing(c, 1) == CW_STATUS_OK);
    CHECK(cw_client_close(c, 5000) == CW_STATUS_OK);
    CHECK(cw_client_close(c, 5000) == CW_STATUS_OK); /* idempotent */
    cw_status st = CW_STATUS_OK;
    for (int i = 0; i < 100 && st == CW_STATUS_OK; i++) { /* drain, then CLOSED */
        char *json = NULL;
        st = cw_client_next_event(c, 1000, &json);
        cw_string_free(json);
    }
    CHECK(st == CW_STATUS_CLOSED);
    CHECK_LAST_ERROR("cw_client_next_event: the client is closed");
    id = NULL;
    CHECK(cw_client_send(c, "late", &id) == CW_STATUS_CLOSED);
    CHECK(id == NULL);
    CHECK(cw_client_reconnect_now(c) == CW_STATUS_CLOSED);
    CHECK(cw_client_typing(c, 0) == CW_STATUS_CLOSED);
    cw_client_free(c);
}

static void test_client_arguments(void) {
    cw_client *c = NULL;
    char *out = NULL;
    CHECK(cw_client_new(NULL, &c) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_client_new: argument `options_json` must not be NULL");
    CHECK(cw_client_new("{}", NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_new("{nope", &c) == CW_STATUS_INVALID_CONFIG && c == NULL);
    CHECK(cw_client_new("{\"dialect\":\"native\",\"baseUrl\":\"http://chat.example.com\"}", &c) ==
          CW_STATUS_INVALID_CONFIG);
    CHECK(cw_client_new("\xff", &c) == CW_STATUS_INVALID_INPUT && c == NULL);
    CHECK(cw_client_send(NULL, "hi", &out) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_client_send: argument `client` must not be NULL");
    CHECK(cw_client_next_event(NULL, 0, &out) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_state(NULL, &out) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_cancel_turn(NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_reconnect_now(NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_typing(NULL, 1) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_close(NULL, 0) == CW_STATUS_NULL_ARGUMENT);
    CHECK(out == NULL);
    cw_client_free(NULL);

    /* NULL out-pointers and text on a live client */
    CHECK(cw_client_new("{\"dialect\":\"native\",\"baseUrl\":\"http://127.0.0.1:9\"}", &c) == CW_STATUS_OK);
    CHECK(cw_client_send(c, NULL, &out) == CW_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR("cw_client_send: argument `text` must not be NULL");
    CHECK(cw_client_send(c, "hi", NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_next_event(c, 0, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_state(c, NULL) == CW_STATUS_NULL_ARGUMENT);
    /* no event yet: OK with NULL after the timeout */
    CHECK(cw_client_next_event(c, 10, &out) == CW_STATUS_OK && out == NULL);
    cw_client_free(c); /* without close: freeing closes it */
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s EXPECTED_VERSION MOCK_URL\n", argv[0]);
        return 2;
    }
    /* no call has failed on this thread yet */
    CHECK(cw_last_error_message() == NULL);
    test_version(argv[1]);
    test_default_delay();
    test_backoff_object();
    test_client_arguments();
    test_client_turn("native", argv[2]);
    test_client_turn("chat-interfaces", argv[2]);
    test_client_turn("openai", argv[2]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
