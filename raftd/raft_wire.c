/*
 * raft_wire.c - encode and decode Raft messages as attributes.
 * See raft_wire.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "raft_wire.h"

void
raft_wire_encode(const struct raft_msg *m, struct buf *b)
{
	struct buf cfg;
	size_t i, nest;

	attr_put_u32(b, A_RAFT_TYPE, m->type);
	attr_put_u64(b, A_FROM, m->from);
	attr_put_u64(b, A_TO, m->to);
	attr_put_u64(b, A_TERM, m->term);
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		attr_put_u64(b, A_LAST_INDEX, m->last_index);
		attr_put_u64(b, A_LAST_TERM, m->last_term);
		/* a vote after TIMEOUT_NOW says so in ctx */
		attr_put_u64(b, A_CTX, m->ctx);
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		attr_put_u8(b, A_REJECT, m->reject != 0);
		break;
	case RAFT_MSG_APPEND:
		attr_put_u64(b, A_PREV_INDEX, m->prev_index);
		attr_put_u64(b, A_PREV_TERM, m->prev_term);
		attr_put_u64(b, A_COMMIT, m->commit);
		attr_put_u64(b, A_CTX, m->ctx);
		for (i = 0; i < m->nentries; i++) {
			nest = attr_nest_begin(b, A_RAFT_ENTRY);
			attr_put_u64(b, A_INDEX, m->entries[i].index);
			attr_put_u64(b, A_TERM, m->entries[i].term);
			attr_put_u8(b, A_ENTRY_TYPE, m->entries[i].type);
			attr_put(b, A_DATA, m->entries[i].data,
			    m->entries[i].len);
			attr_nest_end(b, nest);
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		attr_put_u8(b, A_REJECT, m->reject != 0);
		attr_put_u64(b, A_INDEX, m->index);
		attr_put_u64(b, A_HINT, m->hint);
		attr_put_u64(b, A_CTX, m->ctx);
		break;
	case RAFT_MSG_SNAPSHOT:
		attr_put_u64(b, A_SNAP_INDEX, m->snap_index);
		attr_put_u64(b, A_SNAP_TERM, m->snap_term);
		buf_init(&cfg);
		raft_config_encode(&m->snap_config, &cfg);
		attr_put(b, A_CONFIG, buf_head(&cfg), buf_used(&cfg));
		buf_free(&cfg);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}
}

/* get - an optional u64 (0 when absent); -1 when present but malformed */
static int
get(const struct attr *tab, uint16_t type, uint64_t *v)
{
	*v = 0;
	return attr_present(&tab[type]) ? attr_u64(&tab[type], v) : 0;
}

int
raft_wire_decode(const void *body, size_t len, struct raft_msg *m,
    char *err, size_t errlen)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t v, reject;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	if (attr_index(body, len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_RAFT_TYPE], &v) < 0 ||
	    v < RAFT_MSG_PREVOTE || v > RAFT_MSG_TIMEOUT_NOW ||
	    attr_u64(&tab[A_FROM], &m->from) < 0 ||
	    attr_u64(&tab[A_TO], &m->to) < 0 ||
	    attr_u64(&tab[A_TERM], &m->term) < 0) {
		snprintf(err, errlen, "malformed raft message header");
		return -1;
	}
	m->type = (enum raft_msg_type)v;
	if (get(tab, A_LAST_INDEX, &m->last_index) < 0 ||
	    get(tab, A_LAST_TERM, &m->last_term) < 0 ||
	    get(tab, A_REJECT, &reject) < 0 ||
	    get(tab, A_PREV_INDEX, &m->prev_index) < 0 ||
	    get(tab, A_PREV_TERM, &m->prev_term) < 0 ||
	    get(tab, A_COMMIT, &m->commit) < 0 ||
	    get(tab, A_INDEX, &m->index) < 0 ||
	    get(tab, A_HINT, &m->hint) < 0 ||
	    get(tab, A_CTX, &m->ctx) < 0 ||
	    get(tab, A_SNAP_INDEX, &m->snap_index) < 0 ||
	    get(tab, A_SNAP_TERM, &m->snap_term) < 0) {
		snprintf(err, errlen, "malformed raft message field");
		return -1;
	}
	m->reject = reject != 0;
	if (m->type == RAFT_MSG_SNAPSHOT &&
	    raft_config_decode(tab[A_CONFIG].val, tab[A_CONFIG].len,
	    &m->snap_config) < 0) {
		snprintf(err, errlen, "malformed snapshot configuration");
		return -1;
	}
	if (m->type != RAFT_MSG_APPEND)
		return 0;
	attr_iter_init(&it, body, len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_RAFT_ENTRY)
			n++;
	if (n == 0)
		return 0;
	if ((m->entries = calloc(n, sizeof(*m->entries))) == NULL)
		log_fatal("out of memory");
	attr_iter_init(&it, body, len);
	while (attr_next(&it, &a) == 1) {
		struct raft_entry *e = &m->entries[m->nentries];
		uint64_t type;

		if (a.type != A_RAFT_ENTRY)
			continue;
		if (attr_index(a.val, a.len, et, ATTR_TAB) < 0 ||
		    attr_u64(&et[A_INDEX], &e->index) < 0 ||
		    attr_u64(&et[A_TERM], &e->term) < 0 ||
		    attr_u64(&et[A_ENTRY_TYPE], &type) < 0 || type > 2 ||
		    !attr_present(&et[A_DATA]) ||
		    e->index != m->prev_index + m->nentries + 1) {
			free(m->entries);
			m->entries = NULL;
			m->nentries = 0;
			snprintf(err, errlen, "malformed raft entry");
			return -1;
		}
		e->type = (uint8_t)type;
		e->len = et[A_DATA].len;
		e->data = (unsigned char *)et[A_DATA].val;
		m->nentries++;
	}
	return 0;
}
