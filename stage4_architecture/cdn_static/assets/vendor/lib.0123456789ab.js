// A vendored library whose file name happens to end in twelve hex digits, like a hash.
// It is not one: the manifest gives this file a hashed name of its own.
export function greet(name) {
  return `hello, ${name}`;
}
