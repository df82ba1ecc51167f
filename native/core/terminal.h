#ifndef HULL_TERMINAL_H
#define HULL_TERMINAL_H

#include "hull.h"

// Opens a pty in the container's own devpts (after pivot_root), makes its peer the controlling
// terminal and stdio, and sends the master over the console socket (runc's contract).
int hull_setup_console(const hull_plan *p, hull_error *err);

#endif
