#include "str.h"

#include <string.h>

size_t hull_strlcpy(char *dst, const char *src, size_t size) {
  size_t n = strlen(src);
  if (size) {
    size_t c = n < size - 1 ? n : size - 1;
    memcpy(dst, src, c);
    dst[c] = '\0';
  }
  return n;
}

size_t hull_strlcat(char *dst, const char *src, size_t size) {
  size_t used = strnlen(dst, size);
  if (used == size) return used + strlen(src);
  return used + hull_strlcpy(dst + used, src, size - used);
}

char *hull_utoa(uint64_t v, char *buf) {
  char tmp[21];
  int i = 0;
  do tmp[i++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  int j = 0;
  while (i) buf[j++] = tmp[--i];
  buf[j] = '\0';
  return buf;
}

char *hull_itoa(int64_t v, char *buf) {
  if (v >= 0) return hull_utoa((uint64_t)v, buf);
  buf[0] = '-';
  hull_utoa((uint64_t)(-(v + 1)) + 1, buf + 1);
  return buf;
}

int hull_join(char *dst, size_t size, const char *a, const char *b, const char *c) {
  dst[0] = '\0';
  size_t n = hull_strlcat(dst, a, size);
  n = hull_strlcat(dst, b, size);
  if (c) n = hull_strlcat(dst, c, size);
  return n >= size ? -1 : 0;
}
