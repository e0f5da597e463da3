// Writes a key as an own property, whatever its name. A plain assignment to `__proto__` changes
// the object's prototype instead (or does nothing, for a string), so a header or attribute of
// that name would vanish unchecked; received names come from the wire, so any name can occur.

/** Sets `object[key] = value` as an own, enumerable property, `__proto__` included. */
export function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else object[key] = value;
}
