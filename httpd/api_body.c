/*
 * api_body.c - request bodies in JSON, read as Consul reads them: an
 * empty body where one is optional, Go's decoder's words in the 400s, and
 * field names matched without case.
 *
 * Nesting deeper than BODY_DEPTH_MAX is refused before yajl builds (and
 * recursively frees) a tree of it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

#define BODY_DEPTH_MAX	64

/* body_too_deep - whether s nests deeper than BODY_DEPTH_MAX */
static int
body_too_deep(const char *s, size_t n)
{
	int depth = 0, in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (in_str) {
			if (esc)
				esc = 0;
			else if (s[i] == '\\')
				esc = 1;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > BODY_DEPTH_MAX)
				return 1;
		} else if (s[i] == ']' || s[i] == '}')
			depth--;
	}
	return 0;
}

/* api_json_type - Go's word for a JSON value's type */
const char *
api_json_type(yajl_val v)
{
	if (YAJL_IS_NUMBER(v))
		return "number";
	if (YAJL_IS_OBJECT(v))
		return "object";
	if (YAJL_IS_ARRAY(v))
		return "array";
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return "bool";
	return "string";
}

/* api_body_json - see httpd.h */
int
api_body_json(struct http_req *req, yajl_type want, const char *gotype,
    int optional, yajl_val *out)
{
	size_t len = buf_used(&req->body);
	char errbuf[256], *text, *nl;
	yajl_val root;

	*out = NULL;
	if (len == 0) {
		if (optional)
			return 0;
		http_reply_text(req, 400, "Request decode failed: EOF");
		return -1;
	}
	text = (char *)buf_head(&req->body);
	if (memchr(text, '\0', len) != NULL) {
		http_reply_text(req, 400, "Request decode failed: invalid "
		    "character '\\x00' in JSON");
		return -1;
	}
	if (body_too_deep(text, len)) {
		http_reply_text(req, 400, "Request decode failed: JSON nested "
		    "deeper than %d levels", BODY_DEPTH_MAX);
		return -1;
	}
	errbuf[0] = '\0';
	if ((root = yajl_tree_parse(buf_cstr(&req->body), errbuf,
	    sizeof(errbuf))) == NULL) {
		/* yajl's message spans lines: the first says what. */
		if ((nl = strchr(errbuf, '\n')) != NULL)
			*nl = '\0';
		http_reply_text(req, 400, "Request decode failed: %s",
		    errbuf[0] != '\0' ? errbuf : "invalid JSON");
		return -1;
	}
	if (root->type != yajl_t_null && root->type != want) {
		http_reply_text(req, 400, "Request decode failed: json: cannot "
		    "unmarshal %s into Go value of type %s",
		    api_json_type(root), gotype);
		yajl_tree_free(root);
		return -1;
	}
	*out = root;
	return 0;
}

/* api_json_field - an object's field by name, any case; NULL if absent */
yajl_val
api_json_field(yajl_val obj, const char *name)
{
	size_t i;

	for (i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
		if (strcasecmp(obj->u.object.keys[i], name) == 0)
			return obj->u.object.values[i];
	return NULL;
}

/*
 * api_json_string - a string field: 0 with *s set (NULL when absent or
 * null), -1 after a 400 in Go's words when it is not a string
 */
int
api_json_string(struct http_req *req, yajl_val obj, const char *name,
    const char *gotype, const char **s)
{
	yajl_val v = api_json_field(obj, name);

	*s = NULL;
	if (v == NULL || v->type == yajl_t_null)
		return 0;
	if (!YAJL_IS_STRING(v)) {
		http_reply_text(req, 400, "Request decode failed: json: cannot "
		    "unmarshal %s into Go struct field %s.%s of type string",
		    api_json_type(v), gotype, name);
		return -1;
	}
	*s = v->u.string;
	return 0;
}
