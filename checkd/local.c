/*
 * local.c - services and checks registered through the agent API (and
 * the maintenance checks), kept as Consul's agent keeps them: one file
 * each, data_dir/services/<hash> and data_dir/checks/<hash>, holding the
 * definition as it was sent. They are read at start like config files
 * that come after the real ones, so an API registration of an ID that a
 * config file also defines wins until it is deregistered.
 *
 * This file only holds and stores them; main.c decides, by loading the
 * whole set (checks.c), whether a change is valid before it is kept.
 * Files are replaced by rename; a crash leaves the old one or the new.
 *
 * Leaves out: ACL tokens stored beside the definitions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkd.h"
#include "jv.h"
#include "log.h"

#define LOCAL_MAX	(512 * 1024)	/* a definition file */

struct local {
	char		*id;
	char		*text;		/* the definition as sent */
	struct jv	*def;
};

static struct {
	char		 dir[2][4096];	/* LOCAL_SERVICE, LOCAL_CHECK */
	struct local	*v[2];
	size_t		 n[2];
	struct jv	**roots[2];	/* local_roots's arrays */
} L;

/* local_hash - FNV-1a 64 of the ID, the file's name (as state.c) */
static void
local_path(int kind, const char *id, char *out, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	snprintf(out, n, "%s/%016llx", L.dir[kind], (unsigned long long)h);
}

/* local_id - a definition's ID: "ID" (checks: "CheckID" too), else Name */
static const char *
local_id(int kind, const struct jv *def)
{
	const char *id = jv_str(def, "id");

	if ((id == NULL || *id == '\0') && kind == LOCAL_CHECK)
		id = jv_str(def, "check_id");
	if (id == NULL || *id == '\0')
		id = jv_str(def, "name");
	return id != NULL && *id != '\0' ? id : NULL;
}

/*
 * local_parse - a definition sent through the API: the JSON object, and
 * the ID it defines; NULL with err ("request body:1:2: ...") if not
 */
struct jv *
local_parse(int kind, const void *text, size_t len, const char **id,
    char *err, size_t errlen)
{
	struct jv *def;

	if ((def = jv_parse(text, len, "request body", err, errlen)) == NULL)
		return NULL;
	if (def->type != JV_OBJ) {
		snprintf(err, errlen, "Request decode failed: expected a JSON "
		    "object");
		jv_free(def);
		return NULL;
	}
	if ((*id = local_id(kind, def)) == NULL) {
		snprintf(err, errlen, kind == LOCAL_SERVICE ? "Missing "
		    "service name" : "Missing check name");
		jv_free(def);
		return NULL;
	}
	return def;
}

static ssize_t
local_find(int kind, const char *id)
{
	size_t i;

	for (i = 0; i < L.n[kind]; i++)
		if (strcmp(L.v[kind][i].id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/* local_has - whether the API registered this ID */
int
local_has(int kind, const char *id)
{
	return local_find(kind, id) >= 0;
}

/*
 * local_put - hold def (taken) as kind's ID id, replacing one of the same
 * ID; text is what local_save will write. Returns the replaced one's
 * slot content for local_undo, through old (id NULL when there was none).
 */
void
local_put(int kind, const char *id, struct jv *def, const char *text,
    size_t len, struct local_old *old)
{
	ssize_t i = local_find(kind, id);
	struct local *l;

	memset(old, 0, sizeof(*old));
	old->kind = kind;
	if (i < 0) {
		if ((L.v[kind] = realloc(L.v[kind], (L.n[kind] + 1) *
		    sizeof(*L.v[kind]))) == NULL)
			log_fatal("out of memory");
		i = (ssize_t)L.n[kind]++;
		l = &L.v[kind][i];
		l->id = xstrdup(id);
	} else {
		l = &L.v[kind][i];
		old->id = xstrdup(id);
		old->text = l->text;
		old->def = l->def;
	}
	old->added = old->id == NULL;
	if (old->added)
		old->id = xstrdup(id);
	if ((l->text = malloc(len + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(l->text, text, len);
	l->text[len] = '\0';
	l->def = def;
}

/* local_drop - forget kind's id (the caller saves or undoes); old as put */
int
local_drop(int kind, const char *id, struct local_old *old)
{
	ssize_t i = local_find(kind, id);
	struct local *l;

	memset(old, 0, sizeof(*old));
	old->kind = kind;
	if (i < 0)
		return -1;
	l = &L.v[kind][i];
	old->id = l->id;
	old->text = l->text;
	old->def = l->def;
	old->dropped = 1;
	memmove(l, l + 1, (L.n[kind] - (size_t)i - 1) * sizeof(*l));
	L.n[kind]--;
	return 0;
}

/* local_undo - put back what local_put or local_drop changed */
void
local_undo(struct local_old *old)
{
	struct local_old none;
	ssize_t i;

	if (old->id == NULL)
		return;
	if (old->dropped) {
		local_put(old->kind, old->id, old->def, old->text,
		    strlen(old->text), &none);
		free(old->text);
		free(old->id);
		local_forget(&none);
	} else if (old->added) {
		if (local_drop(old->kind, old->id, &none) == 0) {
			jv_free(none.def);
			free(none.text);
			free(none.id);
		}
		free(old->id);
	} else if ((i = local_find(old->kind, old->id)) >= 0) {
		jv_free(L.v[old->kind][i].def);
		free(L.v[old->kind][i].text);
		L.v[old->kind][i].def = old->def;
		L.v[old->kind][i].text = old->text;
		free(old->id);
	}
	memset(old, 0, sizeof(*old));
}

/* local_forget - the change stands: free what it replaced */
void
local_forget(struct local_old *old)
{
	if (!old->added) {
		jv_free(old->def);
		free(old->text);
	}
	free(old->id);
	memset(old, 0, sizeof(*old));
}

/*
 * local_save - make the files match what is held for kind's id: write it
 * (path.tmp, rename), or remove it when it is no longer held
 */
void
local_save(int kind, const char *id)
{
	char path[4200], tmp[4300];
	ssize_t i = local_find(kind, id);
	size_t len;
	int fd, ok;

	local_path(kind, id, path, sizeof(path));
	if (i < 0) {
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("remove %s: %s", path, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = strlen(L.v[kind][i].text);
	ok = (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) >= 0 && write(fd, L.v[kind][i].text, len) == (ssize_t)len;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		log_warn("cannot keep %s \"%.100s\" in %s (%s); it is "
		    "registered until checkd restarts", kind == LOCAL_SERVICE ?
		    "service" : "check", id, path, strerror(errno));
		unlink(tmp);
	}
}

/* local_load_dir - every definition file of kind */
static void
local_load_dir(int kind)
{
	char path[4400], err[512], *text;
	struct local_old old;
	struct dirent *e;
	const char *id;
	struct jv *def;
	struct stat sb;
	ssize_t got;
	DIR *d;
	int fd;

	if ((d = opendir(L.dir[kind])) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != 16)	/* our hashes only */
			continue;
		snprintf(path, sizeof(path), "%s/%s", L.dir[kind], e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
		    sb.st_size > LOCAL_MAX) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if ((text = malloc((size_t)sb.st_size + 1)) == NULL)
			log_fatal("out of memory");
		got = read(fd, text, (size_t)sb.st_size);
		close(fd);
		if (got != sb.st_size || (def = local_parse(kind, text,
		    (size_t)got, &id, err, sizeof(err))) == NULL) {
			log_warn("%s: unreadable definition, ignored: %s", path,
			    got == sb.st_size ? err : "short read");
			free(text);
			continue;
		}
		local_put(kind, id, def, text, (size_t)got, &old);
		local_forget(&old);
		free(text);
	}
	closedir(d);
}

/* local_init - the directories, and what earlier runs registered */
void
local_init(const char *data_dir)
{
	int k;

	snprintf(L.dir[LOCAL_SERVICE], sizeof(L.dir[0]), "%s/services",
	    data_dir);
	snprintf(L.dir[LOCAL_CHECK], sizeof(L.dir[0]), "%s/checks", data_dir);
	for (k = 0; k < 2; k++) {
		if (mkdir(L.dir[k], 0700) == -1 && errno != EEXIST)
			log_warn("mkdir %s: %s; API registrations will not "
			    "survive a restart", L.dir[k], strerror(errno));
		local_load_dir(k);
	}
	if (L.n[0] + L.n[1] > 0)
		log_info("%zu services and %zu checks registered through the "
		    "API", L.n[LOCAL_SERVICE], L.n[LOCAL_CHECK]);
}

/* local_roots - the held definitions of kind, for checks_load */
struct jv **
local_roots(int kind, size_t *n)
{
	size_t i;

	free(L.roots[kind]);
	if ((L.roots[kind] = calloc(L.n[kind] + 1, sizeof(struct jv *))) ==
	    NULL)
		log_fatal("out of memory");
	for (i = 0; i < L.n[kind]; i++)
		L.roots[kind][i] = L.v[kind][i].def;
	*n = L.n[kind];
	return L.roots[kind];
}

/* local_ids - the IDs of kind held, for a caller that walks them */
const char *
local_id_at(int kind, size_t i)
{
	return i < L.n[kind] ? L.v[kind][i].id : NULL;
}

const struct jv *
local_def_at(int kind, size_t i)
{
	return i < L.n[kind] ? L.v[kind][i].def : NULL;
}

void
local_stop(void)
{
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < L.n[k]; i++) {
			free(L.v[k][i].id);
			free(L.v[k][i].text);
			jv_free(L.v[k][i].def);
		}
		free(L.v[k]);
		free(L.roots[k]);
	}
	memset(&L, 0, sizeof(L));
}
