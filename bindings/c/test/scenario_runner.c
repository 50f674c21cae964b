/*
 * The C runner of the scenario protocol (tests/scenarios/README.md), over chatwire.h only.
 *
 * It reads one command a line on stdin, executes it through the C API (cw_client_new or
 * cw_client_new_with_token_provider, cw_client_send_receipt, cw_client_send_audio, ...), and
 * writes one trace line on stdout for every envelope, receipt status change, state change and
 * command result. It judges nothing: the orchestrator does
 * (`chatwire-scenario run --runner bindings/c/build/scenario_runner`).
 *
 * One thread: it waits on stdin with poll() and on the client with cw_client_next_event(10 ms),
 * and after each wait drains every source (events, the state watch, each receipt) without
 * waiting. Every status and state change is also an event (messageStatus, stateChanged), so a
 * change is written at most one wait after it happened. Events, states and statuses are
 * subscribed before the init result is written; after close, the end line comes once every
 * stream returned CW_STATUS_CLOSED. Every string and object from the library is freed (the
 * runner is checked under valgrind).
 *
 * Commands are read by the small JSON reader in scenario_json.h (objects of strings, numbers,
 * booleans, a nested options object passed on as its raw text, and an array of strings).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatwire.h"
#include "scenario_json.h"

typedef struct {
    cw_receipt *receipt;
    char *label;
    char *client_id;
    int done;
} tracked;

typedef struct {
    char **tokens;
    size_t count;
    atomic_size_t next;
} token_list;

typedef struct {
    cw_client *client;
    cw_state_watch *states;
    int events_done, states_done;
    tracked *receipts;
    size_t n_receipts, cap_receipts;
    token_list tokens;
} runner;

/* ---- output ---------------------------------------------------------------------------- */

static void put_escaped(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20) {
            printf("\\u%04x", *p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static void end_line(void) {
    fputs("}\n", stdout);
    fflush(stdout);
}

/* ---- token provider -------------------------------------------------------------------- */

/* The init line's tokens in order, the last one repeatedly (called on a library thread). */
static const char *next_token(void *user_data) {
    token_list *list = user_data;
    size_t i = atomic_fetch_add(&list->next, 1);
    return list->tokens[i < list->count ? i : list->count - 1];
}

/* ---- draining -------------------------------------------------------------------------- */

/* Writes every event that is ready, waiting up to wait_ms for the first one. */
static void drain_events(runner *r, uint64_t wait_ms) {
    char *json = NULL;
    while (!r->events_done) {
        cw_status s = cw_client_next_event(r->client, wait_ms, &json);
        if (s != CW_STATUS_OK) {
            r->events_done = 1;
            break;
        }
        if (!json) break;
        printf("{\"line\":\"envelope\",\"envelope\":%s", json);
        end_line();
        cw_string_free(json);
        wait_ms = 0;
    }
}

static void drain_states(runner *r, uint64_t wait_ms) {
    char *json = NULL;
    while (!r->states_done) {
        if (cw_state_watch_next(r->states, wait_ms, &json) != CW_STATUS_OK) {
            r->states_done = 1;
            break;
        }
        if (!json) break;
        printf("{\"line\":\"state\",\"state\":%s", json);
        end_line();
        cw_string_free(json);
    }
}

static void drain_statuses(runner *r, uint64_t wait_ms) {
    for (size_t i = 0; i < r->n_receipts; i++) {
        tracked *t = &r->receipts[i];
        char *json = NULL;
        while (!t->done) {
            if (cw_receipt_next_status(t->receipt, wait_ms, &json) != CW_STATUS_OK) {
                t->done = 1;
                break;
            }
            if (!json) break;
            /* The state lines up to now go first: the client publishes its state before the
             * statuses that follow from it (ready before acked), and the trace keeps that
             * order, so an orchestrator that acts on a status has seen that state. */
            drain_states(r, 0);
            fputs("{\"line\":\"status\",\"label\":", stdout);
            put_escaped(t->label);
            fputs(",\"clientId\":", stdout);
            put_escaped(t->client_id);
            printf(",\"status\":%s", json);
            end_line();
            cw_string_free(json);
        }
    }
}

/* ---- commands -------------------------------------------------------------------------- */

/* A failed call's result fields: its stable code name and the library's message. */
static void put_failure(cw_status s) {
    char *message = cw_last_error_message();
    printf(",\"ok\":false,\"code\":\"%s\",\"message\":", cw_status_name((int32_t)s));
    put_escaped(message ? message : "");
    cw_string_free(message);
}

static cw_status init(runner *r, const json_object *cmd) {
    char *options = json_raw(cmd, "options");
    if (!options) return CW_STATUS_INVALID_INPUT;
    cw_status s;
    r->tokens.tokens = json_string_array(cmd, "tokens", &r->tokens.count);
    if (r->tokens.count > 0) {
        s = cw_client_new_with_token_provider(options, next_token, &r->tokens, 0, &r->client);
    } else {
        s = cw_client_new(options, &r->client);
    }
    free(options);
    if (s != CW_STATUS_OK) return s;
    /* The client subscribed to its events when created; the state watch comes next, then the
     * state it starts from. */
    s = cw_client_watch_state(r->client, &r->states);
    if (s != CW_STATUS_OK) return s;
    char *state = NULL;
    s = cw_client_state(r->client, &state);
    if (s != CW_STATUS_OK) return s;
    printf("{\"line\":\"state\",\"state\":%s", state);
    end_line();
    cw_string_free(state);
    return CW_STATUS_OK;
}

static cw_status track(runner *r, cw_receipt *receipt, const char *label, char **out_id) {
    cw_status s = cw_receipt_client_id(receipt, out_id);
    if (s != CW_STATUS_OK) {
        cw_receipt_free(receipt);
        return s;
    }
    if (r->n_receipts == r->cap_receipts) {
        size_t cap = r->cap_receipts ? 2 * r->cap_receipts : 8;
        tracked *grown = realloc(r->receipts, cap * sizeof *grown);
        if (!grown) abort(); /* out of memory: nothing sensible to report */
        r->receipts = grown, r->cap_receipts = cap;
    }
    tracked *t = &r->receipts[r->n_receipts++];
    t->receipt = receipt;
    t->label = strdup(label);
    t->client_id = strdup(*out_id);
    t->done = 0;
    if (!t->label || !t->client_id) abort();
    return CW_STATUS_OK;
}

/* Runs one app command; a send writes its client id to *out_id (freed with cw_string_free). */
static cw_status execute(runner *r, const char *op, const json_object *cmd, char **out_id) {
    char *label = json_string(cmd, "label");
    const char *lbl = label ? label : "";
    cw_status s = CW_STATUS_INVALID_INPUT;
    cw_receipt *receipt = NULL;
    if (strcmp(op, "send") == 0) {
        char *text = json_string(cmd, "text");
        s = cw_client_send_receipt(r->client, text ? text : "", &receipt);
        free(text);
        if (s == CW_STATUS_OK) s = track(r, receipt, lbl, out_id);
    } else if (strcmp(op, "sendAudio") == 0) {
        double n = json_number(cmd, "samples", 0);
        size_t count = n > 0 && n < 1e8 ? (size_t)n : 0;
        int16_t *pcm = calloc(count ? count : 1, sizeof *pcm);
        if (!pcm) abort();
        s = cw_client_send_audio(r->client, pcm, count, &receipt);
        free(pcm);
        if (s == CW_STATUS_OK) s = track(r, receipt, lbl, out_id);
    } else if (strcmp(op, "cancelTurn") == 0) {
        s = cw_client_cancel_turn(r->client);
    } else if (strcmp(op, "typing") == 0) {
        s = cw_client_typing(r->client, json_bool(cmd, "active"));
    } else if (strcmp(op, "reconnectNow") == 0) {
        s = cw_client_reconnect_now(r->client);
    } else if (strcmp(op, "connect") == 0) {
        s = cw_client_connect(r->client);
    } else if (strcmp(op, "discard") == 0) {
        char *id = json_string(cmd, "clientId");
        s = cw_client_discard(r->client, id ? id : "");
        free(id);
    } else if (strcmp(op, "close") == 0) {
        s = cw_client_close(r->client, 10000);
    }
    free(label);
    return s;
}

/* Runs one command line and writes its result; returns 1 for close. */
static int handle(runner *r, const char *line) {
    json_object cmd;
    if (!json_parse_object(line, &cmd)) {
        fprintf(stderr, "not a command: %s\n", line);
        return 0;
    }
    char *op = json_string(&cmd, "op");
    char *id = json_raw(&cmd, "id");
    char *label = json_raw(&cmd, "label");
    char *client_id = NULL;
    cw_status s;
    const char *refusal = NULL;
    if (!op) {
        s = CW_STATUS_INVALID_INPUT, refusal = "a command needs an op";
    } else if (strcmp(op, "init") == 0) {
        s = init(r, &cmd);
    } else if (!r->client) {
        s = CW_STATUS_INVALID_INPUT, refusal = "no init line yet";
    } else {
        s = execute(r, op, &cmd, &client_id);
    }
    printf("{\"line\":\"result\",\"id\":%s,\"op\":", id ? id : "null");
    put_escaped(op ? op : "");
    if (label) printf(",\"label\":%s", label);
    if (s == CW_STATUS_OK) {
        fputs(",\"ok\":true", stdout);
        if (client_id) {
            fputs(",\"clientId\":", stdout);
            put_escaped(client_id);
        }
    } else if (refusal) {
        fputs(",\"ok\":false,\"code\":\"INVALID_INPUT\",\"message\":", stdout);
        put_escaped(refusal);
    } else {
        put_failure(s);
    }
    end_line();
    int closing = op && strcmp(op, "close") == 0;
    cw_string_free(client_id);
    free(op), free(id), free(label);
    return closing;
}

/* ---- main loop ------------------------------------------------------------------------- */

int main(void) {
    runner r = {0};
    atomic_init(&r.tokens.next, 0);
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    int closing = 0, input_open = 1;
    if (!buf) return 1;
    while (!closing && input_open) {
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
        int ready = poll(&in, 1, r.client ? 0 : -1);
        if (ready < 0 && errno != EINTR) break;
        if (ready > 0) {
            if (len + 4096 + 1 > cap) {
                char *grown = realloc(buf, cap *= 2);
                if (!grown) abort();
                buf = grown;
            }
            ssize_t n = read(STDIN_FILENO, buf + len, cap - len - 1);
            if (n <= 0) input_open = 0; else len += (size_t)n;
            buf[len] = '\0';
            char *start = buf, *nl;
            while (!closing && (nl = strchr(start, '\n'))) {
                *nl = '\0';
                closing = handle(&r, start);
                start = nl + 1;
            }
            len -= (size_t)(start - buf);
            memmove(buf, start, len + 1);
        }
        if (r.client && !closing) {
            drain_events(&r, 10);
            drain_states(&r, 0);
            drain_statuses(&r, 0);
        }
    }
    free(buf);
    if (r.client) {
        /* Closed (by the close command, or now at end of input): every stream ends. */
        cw_client_close(r.client, 10000);
        while (!r.events_done) drain_events(&r, 1000);
        while (!r.states_done) drain_states(&r, 1000);
        for (int pending = 1; pending;) {
            drain_statuses(&r, 1000);
            pending = 0;
            for (size_t i = 0; i < r.n_receipts; i++) pending |= !r.receipts[i].done;
        }
    }
    fputs("{\"line\":\"end\"", stdout);
    end_line();
    for (size_t i = 0; i < r.n_receipts; i++) {
        cw_receipt_free(r.receipts[i].receipt);
        free(r.receipts[i].label);
        free(r.receipts[i].client_id);
    }
    free(r.receipts);
    cw_state_watch_free(r.states);
    cw_client_free(r.client);
    json_free_strings(r.tokens.tokens, r.tokens.count);
    return 0;
}
