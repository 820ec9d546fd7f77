/*
 * gopath - Go's path.Join, for keys Consul builds with it (remote exec's
 * _rexec/<session>/<node>/out/<n>), so the CLI and the agent name the
 * same keys Consul's own would.
 */
#ifndef CAIRN_GOPATH_H
#define CAIRN_GOPATH_H

#include <stddef.h>

#include "buf.h"

/*
 * gopath_join - path.Join of the n elements appended to b: the non-empty
 * ones joined by '/' and cleaned (path.Clean); nothing if all are empty
 */
void	gopath_join(struct buf *, const char *const *elems, size_t n);

#endif
