// The container's filesystem: propagation, the rootfs bind, mounts, devices, pivot_root,
// masked and read-only paths. Runs in the child, after clone, in the new mount namespace.
#ifndef HULL_MOUNT_H
#define HULL_MOUNT_H

#include "hull.h"

int hull_prepare_rootfs(const hull_plan *p, hull_error *err);
int hull_mount_all(const hull_plan *p, int rootfd, hull_error *err);
int hull_make_devices(const hull_plan *p, int rootfd, hull_error *err);
int hull_enter_rootfs(const hull_plan *p, hull_error *err);
int hull_finish_rootfs(const hull_plan *p, hull_error *err);

#endif
