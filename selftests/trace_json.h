/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reader of GMPRT_TRACE's files for the tests: it checks the whole text
 * against JSON's grammar (RFC 8259: every value, string escape and number)
 * and collects what the checks need from each trace event, and the counts
 * in otherData.  Nothing else of a trace-event file is assumed: a key it
 * does not know is parsed and skipped.
 */
#ifndef TRACE_JSON_H
#define TRACE_JSON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tj_event {
	char ph;		/* 'X', 'i', 's', 'f', 'M' */
	int pid;
	long tid;
	double ts, dur;		/* microseconds */
	char name[32];
	unsigned long long id;	/* flows */
	unsigned long long g;	/* args.g, 0 if none */
	bool lost;		/* args.lost */
	char reason[32];	/* args.reason */
};

struct tj {
	const char *s, *end;
	bool bad;
	const char *where;	/* first error */
	bool count_only;	/* count events, keep none (a big trace) */
	struct tj_event *ev;
	size_t nev, cap;
	long long events, dropped, clipped;	/* otherData, -1 if absent */
};

static void tj_fail(struct tj *j)
{
	if (!j->bad)
		j->where = j->s;
	j->bad = true;
}

static void tj_ws(struct tj *j)
{
	while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' ||
				 *j->s == '\r'))
		j->s++;
}

static bool tj_eat(struct tj *j, char c)
{
	tj_ws(j);
	if (j->s < j->end && *j->s == c) {
		j->s++;
		return true;
	}
	return false;
}

/* A string; its first len-1 bytes (escapes as they are) into out. */
static void tj_string(struct tj *j, char *out, size_t len)
{
	size_t n = 0;

	if (!tj_eat(j, '"'))
		return tj_fail(j);
	while (j->s < j->end && *j->s != '"') {
		unsigned char c = *j->s++;

		if (c < 0x20)
			return tj_fail(j);
		if (c == '\\') {
			if (j->s >= j->end)
				return tj_fail(j);
			c = *j->s++;
			if (c == 'u') {
				int k;

				for (k = 0; k < 4; k++, j->s++)
					if (j->s >= j->end || !isxdigit((unsigned char)*j->s))
						return tj_fail(j);
			} else if (!strchr("\"\\/bfnrt", c)) {
				return tj_fail(j);
			}
		}
		if (out && n + 1 < len)
			out[n++] = c;
	}
	if (out && len)
		out[n] = 0;
	if (!tj_eat(j, '"'))
		tj_fail(j);
}

static double tj_number(struct tj *j)
{
	const char *p = j->s;
	char *e;
	double v;

	tj_ws(j);
	p = j->s;
	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || !isdigit((unsigned char)*p) ||
	    (*p == '0' && p + 1 < j->end && isdigit((unsigned char)p[1]))) {
		tj_fail(j);
		return 0;
	}
	v = strtod(j->s, &e);
	j->s = e;
	return v;
}

static void tj_value(struct tj *j, int depth);

/*
 * An object, its opening brace next: @member(j, key, ctx) reads each
 * member's value (the colon and blanks eaten), and must read it whole.
 */
static void tj_object(struct tj *j, void (*member)(struct tj *, const char *, void *),
		      void *ctx)
{
	char key[32];

	if (!tj_eat(j, '{'))
		return tj_fail(j);
	if (tj_eat(j, '}'))
		return;
	do {
		tj_string(j, key, sizeof(key));
		if (!tj_eat(j, ':'))
			return tj_fail(j);
		tj_ws(j);
		member(j, key, ctx);
	} while (!j->bad && tj_eat(j, ','));
	if (!tj_eat(j, '}'))
		tj_fail(j);
}

/* A member nobody looks at: ctx is the object's depth. */
static void tj_skip_member(struct tj *j, const char *key, void *ctx)
{
	(void)key;
	tj_value(j, *(int *)ctx + 1);
}

static void tj_value(struct tj *j, int depth)
{
	tj_ws(j);
	if (j->bad || j->s >= j->end || depth > 64)
		return tj_fail(j);
	switch (*j->s) {
	case '{':
		return tj_object(j, tj_skip_member, &depth);
	case '[':
		j->s++;
		if (tj_eat(j, ']'))
			return;
		do
			tj_value(j, depth + 1);
		while (!j->bad && tj_eat(j, ','));
		if (!tj_eat(j, ']'))
			tj_fail(j);
		return;
	case '"':
		return tj_string(j, NULL, 0);
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };
		int k;

		for (k = 0; k < 3; k++)
			if ((size_t)(j->end - j->s) >= strlen(lit[k]) &&
			    !strncmp(j->s, lit[k], strlen(lit[k]))) {
				j->s += strlen(lit[k]);
				return;
			}
		return tj_fail(j);
	}
	default:
		tj_number(j);
	}
}

/* Is the next value a number?  Then read it; else skip the value. */
static double tj_num_or_skip(struct tj *j)
{
	tj_ws(j);
	if (j->s < j->end && (*j->s == '-' || isdigit((unsigned char)*j->s)))
		return tj_number(j);
	tj_value(j, 2);
	return 0;
}

static void tj_args(struct tj *j, const char *key, void *ctx)
{
	struct tj_event *e = ctx;

	if (!strcmp(key, "g"))
		e->g = (unsigned long long)tj_num_or_skip(j);
	else if (!strcmp(key, "lost"))
		e->lost = tj_num_or_skip(j) != 0;
	else if (!strcmp(key, "reason") && j->s < j->end && *j->s == '"')
		tj_string(j, e->reason, sizeof(e->reason));
	else
		tj_value(j, 3);
}

struct tj_event_ctx {
	struct tj_event e;
	char ph[4];
};

static void tj_event_member(struct tj *j, const char *key, void *ctx)
{
	struct tj_event_ctx *c = ctx;

	if (!strcmp(key, "ph"))
		tj_string(j, c->ph, sizeof(c->ph));
	else if (!strcmp(key, "name") && j->s < j->end && *j->s == '"')
		tj_string(j, c->e.name, sizeof(c->e.name));
	else if (!strcmp(key, "pid"))
		c->e.pid = (int)tj_num_or_skip(j);
	else if (!strcmp(key, "tid"))
		c->e.tid = (long)tj_num_or_skip(j);
	else if (!strcmp(key, "ts"))
		c->e.ts = tj_num_or_skip(j);
	else if (!strcmp(key, "dur"))
		c->e.dur = tj_num_or_skip(j);
	else if (!strcmp(key, "id"))
		c->e.id = (unsigned long long)tj_num_or_skip(j);
	else if (!strcmp(key, "args") && j->s < j->end && *j->s == '{')
		tj_object(j, tj_args, &c->e);
	else
		tj_value(j, 2);
}

static void tj_event(struct tj *j)
{
	struct tj_event_ctx c = { 0 };
	struct tj_event e;

	tj_object(j, tj_event_member, &c);
	if (j->bad)
		return;
	e = c.e;
	e.ph = c.ph[0];
	if (j->count_only) {
		j->nev++;
		return;
	}
	if (j->nev == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 4096;
		j->ev = realloc(j->ev, j->cap * sizeof(*j->ev));
		if (!j->ev)
			return tj_fail(j);
	}
	j->ev[j->nev++] = e;
}

static void tj_other(struct tj *j, const char *key, void *ctx)
{
	(void)ctx;
	if (!strcmp(key, "events"))
		j->events = (long long)tj_num_or_skip(j);
	else if (!strcmp(key, "dropped"))
		j->dropped = (long long)tj_num_or_skip(j);
	else if (!strcmp(key, "clipped"))
		j->clipped = (long long)tj_num_or_skip(j);
	else
		tj_value(j, 2);
}

static void tj_top(struct tj *j, const char *key, void *ctx)
{
	(void)ctx;
	if (!strcmp(key, "traceEvents")) {
		if (!tj_eat(j, '['))
			return tj_fail(j);
		if (tj_eat(j, ']'))
			return;
		do
			tj_event(j);
		while (!j->bad && tj_eat(j, ','));
		if (!tj_eat(j, ']'))
			tj_fail(j);
	} else if (!strcmp(key, "otherData") && j->s < j->end && *j->s == '{') {
		tj_object(j, tj_other, NULL);
	} else {
		tj_value(j, 1);
	}
}

/* Parse @len bytes at @text.  Return: true if it is one valid JSON object. */
static bool tj_parse(struct tj *j, const char *text, size_t len, bool count_only)
{
	memset(j, 0, sizeof(*j));
	j->count_only = count_only;
	j->s = text;
	j->end = text + len;
	j->events = j->dropped = j->clipped = -1;
	tj_object(j, tj_top, NULL);
	tj_ws(j);
	if (!j->bad && j->s != j->end)
		tj_fail(j);
	return !j->bad;
}

#endif
