// String helpers that never allocate, for code that runs in the child after clone.
#ifndef HULL_STR_H
#define HULL_STR_H

#include <stddef.h>
#include <stdint.h>

size_t hull_strlcpy(char *dst, const char *src, size_t size);
size_t hull_strlcat(char *dst, const char *src, size_t size);
// Writes the decimal form of v into buf (at least 21 bytes) and returns buf.
char *hull_utoa(uint64_t v, char *buf);
char *hull_itoa(int64_t v, char *buf);
// dst = a + b (+ c), truncated to size; returns 0, or -1 on truncation.
int hull_join(char *dst, size_t size, const char *a, const char *b, const char *c);

#endif
