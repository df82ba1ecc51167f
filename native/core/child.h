#ifndef HULL_CHILD_H
#define HULL_CHILD_H

#include "hull.h"

// The container's init between clone and exec. Never returns: it execs, or reports an error
// over the sync socket and exits.
[[noreturn]] void hull_child_main(const hull_plan *p);

#endif
