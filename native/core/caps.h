// Capabilities, user and group switch. Runs in the child after the filesystem is set up.
#ifndef HULL_CAPS_H
#define HULL_CAPS_H

#include "hull.h"

int hull_drop_bounding(const hull_plan *p, hull_error *err);
int hull_switch_user(const hull_plan *p, hull_error *err);
int hull_apply_caps(const hull_plan *p, hull_error *err);

#endif
