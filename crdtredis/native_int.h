/* The decimal text of a long long, as printf's %lld writes it, for the Cython modules that
 * print integers without making a Python object first (protocol/plainrun.pyx,
 * crdt/intparse.pyx; setup.py puts this directory on their include path). */
#ifndef CRDT_NATIVE_INT_H
#define CRDT_NATIVE_INT_H

/* Writes the digits (and '-') of v so that they end just before buf[end]; returns the
 * offset of the first one. buf[0..end) must have room for 20 bytes. */
static inline int crdt_lltoa(char *buf, int end, long long v) {
    unsigned long long u = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    int pos = end;
    do {
        buf[--pos] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--pos] = '-';
    return pos;
}

#endif
