/*
 * test_local.c - checkd's API registrations (local.c): parse and IDs,
 * put, replace, drop, undo of each, and the files they are kept in read
 * back by a fresh start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkd.h"
#include "jv.h"
#include "test.h"

struct checkd D;	/* local.c needs none of it; checkd.h declares it */

static char dir[64];

static struct jv *
parse(int kind, const char *text, const char **id)
{
	char err[256];

	return local_parse(kind, text, strlen(text), id, err, sizeof(err));
}

static void
put(int kind, const char *text)
{
	struct local_old old;
	const char *id;
	struct jv *def = parse(kind, text, &id);
	char *key;

	CHECK(def != NULL);
	if (def == NULL)
		return;
	key = strdup(id);
	local_put(kind, key, def, text, strlen(text), &old);
	local_forget(&old);
	local_save(kind, key);
	free(key);
}

static void
test_parse(void)
{
	char err[256];
	const char *id;
	struct jv *def;

	CHECK((def = parse(LOCAL_SERVICE, "{\"Name\":\"web\"}", &id)) != NULL);
	CHECK_STR(id, "web");
	jv_free(def);
	CHECK((def = parse(LOCAL_SERVICE, "{\"name\":\"web\",\"id\":\"w1\"}",
	    &id)) != NULL);
	CHECK_STR(id, "w1");
	jv_free(def);
	CHECK((def = parse(LOCAL_CHECK, "{\"CheckID\":\"c1\",\"Name\":\"n\"}",
	    &id)) != NULL);
	CHECK_STR(id, "c1");
	jv_free(def);
	CHECK(local_parse(LOCAL_SERVICE, "{\"Port\":1}", 10, &id, err,
	    sizeof(err)) == NULL && strstr(err, "Missing service name"));
	CHECK(local_parse(LOCAL_CHECK, "[1]", 3, &id, err, sizeof(err)) ==
	    NULL && strstr(err, "expected a JSON object"));
	CHECK(local_parse(LOCAL_CHECK, "{\"a\":", 5, &id, err, sizeof(err)) ==
	    NULL && strstr(err, "request body:1:"));
}

static void
test_put_drop_undo(void)
{
	struct local_old old;
	const char *id;
	struct jv *def;
	size_t n;

	put(LOCAL_SERVICE, "{\"Name\":\"a\",\"Port\":1}");
	put(LOCAL_SERVICE, "{\"Name\":\"b\"}");
	CHECK(local_has(LOCAL_SERVICE, "a") && local_has(LOCAL_SERVICE, "b"));
	local_roots(LOCAL_SERVICE, &n);
	CHECK(n == 2);
	/* a replacement undone gives the old definition back */
	def = parse(LOCAL_SERVICE, "{\"Name\":\"a\",\"Port\":2}", &id);
	local_put(LOCAL_SERVICE, "a", def, "{\"Name\":\"a\",\"Port\":2}", 22,
	    &old);
	local_undo(&old);
	CHECK(local_has(LOCAL_SERVICE, "a"));
	CHECK(local_def_at(LOCAL_SERVICE, 0) != NULL &&
	    strstr(jv_get(local_def_at(LOCAL_SERVICE, 0), "port")->str, "1"));
	/* an addition undone is gone */
	def = parse(LOCAL_SERVICE, "{\"Name\":\"c\"}", &id);
	local_put(LOCAL_SERVICE, "c", def, "{\"Name\":\"c\"}", 12, &old);
	CHECK(local_has(LOCAL_SERVICE, "c"));
	local_undo(&old);
	CHECK(!local_has(LOCAL_SERVICE, "c"));
	/* a drop undone is back; a drop kept is gone from disk too */
	CHECK(local_drop(LOCAL_SERVICE, "b", &old) == 0);
	CHECK(!local_has(LOCAL_SERVICE, "b"));
	local_undo(&old);
	CHECK(local_has(LOCAL_SERVICE, "b"));
	CHECK(local_drop(LOCAL_SERVICE, "b", &old) == 0);
	local_save(LOCAL_SERVICE, "b");
	local_forget(&old);
	CHECK(local_drop(LOCAL_SERVICE, "nosuch", &old) < 0);
	put(LOCAL_CHECK, "{\"ID\":\"k\",\"TTL\":\"10s\"}");
}

static void
test_restart_reads_files(void)
{
	size_t n;

	local_stop();
	local_init(dir);
	CHECK(local_has(LOCAL_SERVICE, "a") && !local_has(LOCAL_SERVICE, "b"));
	CHECK(local_has(LOCAL_CHECK, "k"));
	local_roots(LOCAL_SERVICE, &n);
	CHECK(n == 1);
	local_stop();
}

int
main(void)
{
	char cmd[128];
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/cairn-local.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	local_init(dir);
	RUN(test_parse);
	RUN(test_put_drop_undo);
	RUN(test_restart_reads_files);
	rc = TEST_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
