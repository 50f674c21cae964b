/*
 * Tests of the chatwire C API's event delivery and message status against a running
 * chatwire-mock (scripts/test-ffi starts one): events pushed to a callback (in seq order, send
 * and close from inside the callback, the final NULL call, free stops the callback thread), a
 * poll()-driven loop on cw_client_event_fd, cw_client_status, and NULL / invalid arguments on
 * each of these functions.
 *
 * Usage: test_events MOCK_URL
 * Prints "N passed, N failed" and exits non-zero if any check failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chatwire.h"

static int passed = 0;
static int failed = 0;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

/* Thread-safe: the callback checks run on the library's callback thread. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        int ok_ = (cond) ? 1 : 0;                                              \
        pthread_mutex_lock(&check_lock);                                       \
        if (ok_) {                                                             \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
        pthread_mutex_unlock(&check_lock);                                     \
    } while (0)

static long seq_of(const char *json) {
    const char *s = strstr(json, "\"seq\":");
    return s ? strtol(s + 6, NULL, 10) : -1;
}

static cw_client *new_client(const char *url) {
    char options[512];
    snprintf(options, sizeof options, "{\"dialect\":\"native\",\"baseUrl\":\"%s\"}", url);
    cw_client *c = NULL;
    CHECK(cw_client_new(options, &c) == CW_STATUS_OK && c != NULL);
    return c;
}

/* What the callback saw; guarded by `lock`, `done` signalled through `cond`. */
struct pushed {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cw_client *client;
    long last_seq;
    int in_order, turns, events, done, after_done;
    cw_status send_status, close_status, pull_status;
    char *second_id;
};

static void on_event(const char *json, void *user_data) {
    struct pushed *p = user_data;
    pthread_mutex_lock(&p->lock);
    if (p->done) p->after_done++;
    if (json == NULL) { /* the last call: the client closed and every event was delivered */
        p->done = 1;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->events++;
    long seq = seq_of(json);
    if (seq != p->last_seq + 1) p->in_order = 0;
    p->last_seq = seq;
    int completed = strstr(json, "\"type\":\"turnCompleted\"") != NULL;
    if (completed) p->turns++;
    int turns = p->turns;
    pthread_mutex_unlock(&p->lock);

    if (completed && turns == 1) {
        /* send from inside the callback */
        char *id = NULL;
        p->send_status = cw_client_send(p->client, "again", &id);
        p->second_id = id;
        char *out = NULL;
        p->pull_status = cw_client_next_event(p->client, 0, &out); /* events go to the callback */
        cw_string_free(out);
    } else if (completed && turns == 2) {
        /* close from inside the callback: returns within its timeout, no deadlock */
        p->close_status = cw_client_close(p->client, 5000);
    }
}

static int wait_done(struct pushed *p, int seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&p->lock);
    while (!p->done) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) != 0) break;
    }
    int done = p->done;
    pthread_mutex_unlock(&p->lock);
    return done;
}

static void test_callback(const char *url) {
    cw_client *c = new_client(url);
    if (c == NULL) return;
    struct pushed p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, c, 0, 1, 0, 0, 0, 0,
                       CW_STATUS_PANIC, CW_STATUS_PANIC, CW_STATUS_OK, NULL};
    pthread_cond_init(&p.cond, NULL);
    CHECK(cw_client_set_event_callback(c, on_event, &p) == CW_STATUS_OK);
    CHECK(cw_client_set_event_callback(c, on_event, &p) == CW_STATUS_INVALID_INPUT);
    int fd = -1;
    CHECK(cw_client_event_fd(c, &fd) == CW_STATUS_INVALID_INPUT && fd == -1);

    char *first_id = NULL;
    CHECK(cw_client_send(c, "hello", &first_id) == CW_STATUS_OK);
    CHECK(wait_done(&p, 30)); /* two turns, then close from the callback, then NULL */

    pthread_mutex_lock(&p.lock);
    CHECK(p.turns == 2);
    CHECK(p.in_order && p.events > 4);
    CHECK(p.after_done == 0);
    pthread_mutex_unlock(&p.lock);
    CHECK(p.send_status == CW_STATUS_OK && p.second_id != NULL);
    CHECK(p.pull_status == CW_STATUS_INVALID_INPUT);
    CHECK(p.close_status == CW_STATUS_OK);

    char *status = NULL;
    CHECK(cw_client_status(c, first_id, &status) == CW_STATUS_OK);
    CHECK(status != NULL && strcmp(status, "{\"kind\":\"acked\"}") == 0);
    cw_string_free(status);
    status = NULL;
    CHECK(cw_client_status(c, p.second_id, &status) == CW_STATUS_OK);
    CHECK(status != NULL && strcmp(status, "{\"kind\":\"acked\"}") == 0);
    cw_string_free(status);
    cw_string_free(first_id);
    cw_string_free(p.second_id);
    cw_client_free(c);
    pthread_cond_destroy(&p.cond);
}

static void count_event(const char *json, void *user_data) {
    (void)json;
    int *calls = user_data;
    (*calls)++; /* only this thread writes it until cw_client_free returned */
}

/* Freeing a client whose callback thread waits for events stops that thread: no call after. */
static void test_free_stops_the_callback(const char *url) {
    cw_client *c = new_client(url);
    if (c == NULL) return;
    int calls = 0;
    CHECK(cw_client_set_event_callback(c, count_event, &calls) == CW_STATUS_OK);
    cw_client_free(c);
    int after = calls;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL); /* no test of timing: a late call would change `calls` */
    CHECK(calls == after);
}

/* A poll() loop on the event descriptor: readable exactly while events wait. */
static void test_poll_loop(const char *url) {
    cw_client *c = new_client(url);
    if (c == NULL) return;
    int fd = -1, again = -2;
    CHECK(cw_client_event_fd(c, &fd) == CW_STATUS_OK && fd >= 0);
    CHECK(cw_client_event_fd(c, &again) == CW_STATUS_OK && again == fd);
    struct pollfd pfd = {fd, POLLIN, 0};
    CHECK(poll(&pfd, 1, 0) == 0); /* lazy client, nothing happened yet */

    char *id = NULL;
    CHECK(cw_client_send(c, "hello", &id) == CW_STATUS_OK);
    int completed = 0, acked = 0, wakeups = 0;
    long last_seq = 0;
    while (!(completed && acked) && poll(&pfd, 1, 10000) > 0) {
        wakeups++;
        char *json = NULL;
        while (cw_client_next_event(c, 0, &json) == CW_STATUS_OK && json != NULL) {
            CHECK(seq_of(json) == last_seq + 1);
            last_seq = seq_of(json);
            if (strstr(json, "\"type\":\"turnCompleted\"")) completed = 1;
            if (strstr(json, "\"kind\":\"acked\"")) acked = 1;
            cw_string_free(json);
        }
        pfd.revents = 0;
    }
    CHECK(completed && acked && wakeups > 0);

    CHECK(cw_client_close(c, 5000) == CW_STATUS_OK);
    /* closed: the descriptor stays readable until (and after) CLOSED */
    cw_status st = CW_STATUS_OK;
    for (int i = 0; i < 100 && st == CW_STATUS_OK; i++) {
        CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN));
        char *json = NULL;
        st = cw_client_next_event(c, 0, &json);
        cw_string_free(json);
    }
    CHECK(st == CW_STATUS_CLOSED);
    CHECK(poll(&pfd, 1, 0) == 1);
    cw_string_free(id);
    cw_client_free(c);
}

static void test_arguments(const char *url) {
    int fd = -1;
    char *out = NULL;
    CHECK(cw_client_set_event_callback(NULL, count_event, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_event_fd(NULL, &fd) == CW_STATUS_NULL_ARGUMENT && fd == -1);
    CHECK(cw_client_status(NULL, "x", &out) == CW_STATUS_NULL_ARGUMENT);
    cw_client *c = new_client(url);
    if (c == NULL) return;
    CHECK(cw_client_set_event_callback(c, NULL, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_event_fd(c, NULL) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_status(c, NULL, &out) == CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_status(c, "0190b1c2-0000-7000-8000-000000000000", NULL) ==
          CW_STATUS_NULL_ARGUMENT);
    CHECK(cw_client_status(c, "not-an-id", &out) == CW_STATUS_INVALID_INPUT);
    CHECK(cw_client_status(c, "0190b1c2-0000-7000-8000-000000000000", &out) ==
          CW_STATUS_NOT_FOUND);
    CHECK(out == NULL);
    char *id = NULL;
    CHECK(cw_client_send(c, "queued", &id) == CW_STATUS_OK); /* port 9: stays queued */
    CHECK(cw_client_status(c, id, &out) == CW_STATUS_OK);
    CHECK(out != NULL && strcmp(out, "{\"kind\":\"queued\"}") == 0);
    cw_string_free(out);
    cw_string_free(id);
    cw_client_free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MOCK_URL\n", argv[0]);
        return 2;
    }
    test_arguments("http://127.0.0.1:9");
    test_free_stops_the_callback(argv[1]);
    test_callback(argv[1]);
    test_poll_loop(argv[1]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
