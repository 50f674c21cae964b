/*
 * A small JSON reader for the scenario runner's commands (scenario_runner.c): one flat object
 * a line whose values are strings, numbers, booleans, null, a nested object (the client
 * options, handed on as its raw text) or an array of strings (the tokens).
 *
 * Guarantees: it reads only up to the NUL of the text it is given, never recurses deeper than
 * JSON_MAX_DEPTH, refuses text that is not one JSON object (json_parse_object returns 0), and
 * every returned string is a fresh malloc'ed copy (free it; json_free_strings for arrays).
 * Member spans point into the parsed text, which must outlive the json_object. Decoded strings
 * turn \uXXXX escapes (surrogate pairs included) into UTF-8; keys are compared as written.
 */
#ifndef SCENARIO_JSON_H
#define SCENARIO_JSON_H

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_MEMBERS 32
#define JSON_MAX_DEPTH 64

typedef struct {
    const char *key; /* the key's text between its quotes, as written */
    size_t key_len;
    const char *value; /* the value's raw text */
    size_t value_len;
} json_member;

typedef struct {
    json_member members[JSON_MAX_MEMBERS];
    size_t count;
} json_object;

static const char *json_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* The end of the string starting at the quote p, or NULL. */
static const char *json_skip_string(const char *p) {
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && !*++p) return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

/* The end of the value starting at p, or NULL when it is not JSON. */
static const char *json_skip_value(const char *p, int depth) {
    if (depth > JSON_MAX_DEPTH) return NULL;
    p = json_ws(p);
    if (*p == '"') return json_skip_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (*p != '"' || !(p = json_skip_string(p))) return NULL;
                p = json_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = json_skip_value(p, depth + 1))) return NULL;
            p = json_ws(p);
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
            p = json_ws(p);
        }
    }
    const char *start = p;
    while (*p && strchr("+-.0123456789eEtruefalsn", *p)) p++;
    return p > start ? p : NULL;
}

/* Parses one object; returns 1 on success. */
static int json_parse_object(const char *text, json_object *out) {
    const char *p = json_ws(text);
    out->count = 0;
    if (*p++ != '{') return 0;
    p = json_ws(p);
    if (*p == '}') return *json_ws(p + 1) == '\0';
    for (;;) {
        if (*p != '"' || out->count == JSON_MAX_MEMBERS) return 0;
        json_member *m = &out->members[out->count++];
        const char *end = json_skip_string(p);
        if (!end) return 0;
        m->key = p + 1, m->key_len = (size_t)(end - p - 2);
        p = json_ws(end);
        if (*p++ != ':') return 0;
        p = json_ws(p);
        if (!(end = json_skip_value(p, 1))) return 0;
        m->value = p, m->value_len = (size_t)(end - p);
        p = json_ws(end);
        if (*p == '}') return *json_ws(p + 1) == '\0';
        if (*p++ != ',') return 0;
        p = json_ws(p);
    }
}

static const json_member *json_get(const json_object *o, const char *key) {
    size_t n = strlen(key);
    for (size_t i = 0; i < o->count; i++) {
        if (o->members[i].key_len == n && memcmp(o->members[i].key, key, n) == 0) {
            return &o->members[i];
        }
    }
    return NULL;
}

/* A copy of the raw text of the value of key, or NULL when absent. */
static char *json_raw(const json_object *o, const char *key) {
    const json_member *m = json_get(o, key);
    if (!m) return NULL;
    char *copy = malloc(m->value_len + 1);
    if (!copy) abort();
    memcpy(copy, m->value, m->value_len);
    copy[m->value_len] = '\0';
    return copy;
}

static int json_hex4(const char *p, unsigned *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int v = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return 0;
        *out = *out * 16 + (unsigned)v;
    }
    return 1;
}

static char *json_put_utf8(char *o, unsigned c) {
    if (c < 0x80) {
        *o++ = (char)c;
    } else if (c < 0x800) {
        *o++ = (char)(0xC0 | c >> 6), *o++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *o++ = (char)(0xE0 | c >> 12), *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else {
        *o++ = (char)(0xF0 | c >> 18), *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F)), *o++ = (char)(0x80 | (c & 0x3F));
    }
    return o;
}

/* Decodes the string literal [p, end) (quotes included); NULL when it is not one. */
static char *json_decode(const char *p, const char *end) {
    if (end - p < 2 || *p != '"' || end[-1] != '"') return NULL;
    /* Every escape decodes to at most as many bytes as it is written with. */
    char *out = malloc((size_t)(end - p)), *o = out;
    if (!out) abort();
    for (p++, end--; p < end; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        if (++p >= end) break;
        const char *plain = strchr("\"\\/bfnrt", *p);
        unsigned c, low;
        if (plain && *p) {
            *o++ = "\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"];
        } else if (*p == 'u' && end - p > 4 && json_hex4(p + 1, &c)) {
            p += 4;
            if (c >= 0xD800 && c < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u' &&
                json_hex4(p + 3, &low) && low >= 0xDC00 && low < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            o = json_put_utf8(o, c);
        } else {
            free(out);
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* The decoded string value of key, or NULL when absent or not a string. */
static char *json_string(const json_object *o, const char *key) {
    const json_member *m = json_get(o, key);
    return m ? json_decode(m->value, m->value + m->value_len) : NULL;
}

static double json_number(const json_object *o, const char *key, double fallback) {
    const json_member *m = json_get(o, key);
    if (!m) return fallback;
    char *end = NULL;
    double v = strtod(m->value, &end);
    return end == m->value + m->value_len ? v : fallback;
}

static int json_bool(const json_object *o, const char *key) {
    const json_member *m = json_get(o, key);
    return m && m->value_len == 4 && memcmp(m->value, "true", 4) == 0;
}

static void json_free_strings(char **strings, size_t count) {
    for (size_t i = 0; strings && i < count; i++) free(strings[i]);
    free(strings);
}

/* The strings of the array value of key (elements that are not strings are skipped); *count
 * is their number. NULL with *count 0 when absent, empty or not an array. */
static char **json_string_array(const json_object *o, const char *key, size_t *count) {
    const json_member *m = json_get(o, key);
    *count = 0;
    if (!m || *m->value != '[') return NULL;
    char **out = calloc(m->value_len, sizeof *out); /* more slots than elements */
    if (!out) abort();
    const char *p = json_ws(m->value + 1), *end = m->value + m->value_len - 1;
    while (p < end) {
        const char *next = json_skip_value(p, 1);
        if (!next) break;
        char *s = json_decode(p, next);
        if (s) out[(*count)++] = s;
        p = json_ws(next);
        if (*p == ',') p = json_ws(p + 1);
    }
    if (*count == 0) {
        free(out);
        return NULL;
    }
    return out;
}

#endif
