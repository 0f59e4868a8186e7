/* cones.json for `dopt cone solve`: {"l": int, "q": [ints], "s": [ints]},
 * every key optional (missing = none), nothing else allowed. A small strict
 * reader of exactly that shape: a malformed file is refused with the byte
 * offset and what was expected, never guessed at. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cone.h"

typedef struct {
    const char *text, *path;
    size_t pos, len;
} json_reader;

static void skip_space(json_reader *r)
{
    while (r->pos < r->len && isspace((unsigned char)r->text[r->pos])) ++r->pos;
}

static int fail(const json_reader *r, const char *what)
{
    fprintf(stderr, "dopt: %s: malformed at byte %zu: expected %s\n", r->path, r->pos, what);
    return 0;
}

static int expect(json_reader *r, char c)
{
    skip_space(r);
    if (r->pos >= r->len || r->text[r->pos] != c) {
        char what[8] = {'\'', c, '\'', 0};
        return fail(r, what);
    }
    ++r->pos;
    return 1;
}

/* a non-negative integer that fits int32 */
static int read_int(json_reader *r, const char *key, int32_t *out)
{
    skip_space(r);
    size_t start = r->pos;
    if (r->pos < r->len && r->text[r->pos] == '-') {
        fprintf(stderr, "dopt: %s: \"%s\" must not be negative\n", r->path, key);
        return 0;
    }
    while (r->pos < r->len && isdigit((unsigned char)r->text[r->pos])) ++r->pos;
    if (r->pos == start) return fail(r, "a non-negative integer");
    if (r->pos < r->len && (r->text[r->pos] == '.' || r->text[r->pos] == 'e' || r->text[r->pos] == 'E')) {
        fprintf(stderr, "dopt: %s: \"%s\" must hold integers\n", r->path, key);
        return 0;
    }
    char buf[32];
    size_t len = r->pos - start;
    if (len > 10) {
        fprintf(stderr, "dopt: %s: a value of \"%s\" is too large\n", r->path, key);
        return 0;
    }
    memcpy(buf, r->text + start, len);
    buf[len] = 0;
    long long v = strtoll(buf, NULL, 10);
    if (v > 2147483647LL) {
        fprintf(stderr, "dopt: %s: a value of \"%s\" is too large\n", r->path, key);
        return 0;
    }
    *out = (int32_t)v;
    return 1;
}

static int read_list(json_reader *r, const char *key, int32_t **list, int32_t *count)
{
    if (!expect(r, '[')) return 0;
    int32_t cap = 8, n = 0;
    int32_t *a = (int32_t *)malloc(sizeof(int32_t) * (size_t)cap);
    if (!a) return fail(r, "memory");
    skip_space(r);
    if (r->pos < r->len && r->text[r->pos] == ']') {
        ++r->pos;
    } else {
        for (;;) {
            if (n == cap) {
                if (cap > (1 << 24)) {
                    free(a);
                    return fail(r, "fewer cones");
                }
                cap *= 2;
                int32_t *b = (int32_t *)realloc(a, sizeof(int32_t) * (size_t)cap);
                if (!b) {
                    free(a);
                    return fail(r, "memory");
                }
                a = b;
            }
            if (!read_int(r, key, &a[n])) {
                free(a);
                return 0;
            }
            if (a[n] < 1) {
                fprintf(stderr, "dopt: %s: \"%s\" sizes must be >= 1 (entry %d is %d)\n", r->path, key, n, a[n]);
                free(a);
                return 0;
            }
            ++n;
            skip_space(r);
            if (r->pos < r->len && r->text[r->pos] == ',') {
                ++r->pos;
                continue;
            }
            if (!expect(r, ']')) {
                free(a);
                return 0;
            }
            break;
        }
    }
    *list = a;
    *count = n;
    return 1;
}

int cli_cone_read_json(const char *path, cli_cone_spec *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dopt: %s: cannot open: %s\n", path, strerror(errno));
        return 0;
    }
    char *text = (char *)malloc(1 << 20);
    size_t len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    int too_long = text && len == (1 << 20) - 1 && fgetc(f) != EOF;
    fclose(f);
    if (!text || too_long) {
        fprintf(stderr, "dopt: %s: %s\n", path, text ? "larger than 1 MiB" : "out of memory");
        free(text);
        return 0;
    }
    text[len] = 0;
    json_reader r = {text, path, 0, len};
    int ok = expect(&r, '{'), seen[3] = {0, 0, 0};
    skip_space(&r);
    if (ok && r.pos < r.len && r.text[r.pos] == '}') {
        ++r.pos;
    } else {
        while (ok) {
            ok = expect(&r, '"');
            if (!ok) break;
            size_t k0 = r.pos;
            while (r.pos < r.len && r.text[r.pos] != '"') ++r.pos;
            if (r.pos >= r.len) {
                ok = fail(&r, "the end of a key");
                break;
            }
            size_t klen = r.pos - k0;
            ++r.pos;
            int key = klen == 1 ? (text[k0] == 'l' ? 0 : text[k0] == 'q' ? 1 : text[k0] == 's' ? 2 : -1) : -1;
            if (key < 0) {
                fprintf(stderr, "dopt: %s: unknown key \"%.*s\" (allowed: \"l\", \"q\", \"s\")\n", path, (int)klen,
                        text + k0);
                ok = 0;
                break;
            }
            if (seen[key]++) {
                fprintf(stderr, "dopt: %s: key \"%c\" given twice\n", path, text[k0]);
                ok = 0;
                break;
            }
            if (!(ok = expect(&r, ':'))) break;
            if (key == 0)
                ok = read_int(&r, "l", &out->l);
            else if (key == 1)
                ok = read_list(&r, "q", &out->q, &out->nq);
            else
                ok = read_list(&r, "s", &out->s, &out->ns);
            if (!ok) break;
            skip_space(&r);
            if (r.pos < r.len && r.text[r.pos] == ',') {
                ++r.pos;
                continue;
            }
            ok = expect(&r, '}');
            break;
        }
    }
    if (ok) {
        skip_space(&r);
        if (r.pos != r.len) ok = fail(&r, "the end of the file after the object");
    }
    free(text);
    if (!ok) cli_cone_spec_free(out);
    return ok;
}

void cli_cone_spec_free(cli_cone_spec *c)
{
    free(c->q);
    free(c->s);
    memset(c, 0, sizeof *c);
}
